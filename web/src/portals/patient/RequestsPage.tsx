import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { api } from "../../api";
import type { AccessRequest } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { PageTitle, Section, shortId } from "../../components/Page";
import { useScopeText } from "../../components/ScopeText";

export function AccessRequestTable({ requests, decide }: { requests: AccessRequest[]; decide: boolean }) {
  const { t, tv, formatTime } = useI18n();
  const scopeText = useScopeText();
  const queryClient = useQueryClient();
  const decision = useMutation({
    mutationFn: ({ id, verdict }: { id: string; verdict: "approve" | "deny" }) =>
      api<AccessRequest>(`/api/v1/access-requests/${id}/${verdict}`, {
        method: "POST",
        json: verdict === "approve" ? {} : undefined,
      }),
    onSuccess: () => {
      queryClient.invalidateQueries({ queryKey: ["access-requests"] });
      queryClient.invalidateQueries({ queryKey: ["consents"] });
    },
  });
  if (requests.length === 0) return <Typography>{t("requests.none")}</Typography>;
  return (
    <>
      <ErrorAlert error={decision.error} />
      <Table size="small" aria-label={t("requests.title")}>
        <TableHead>
          <TableRow>
            <TableCell>{decide ? t("requests.doctor") : t("consents.patient")}</TableCell>
            <TableCell>{t("consents.scope")}</TableCell>
            <TableCell>{t("requests.purpose")}</TableCell>
            <TableCell>{t("requests.reason")}</TableCell>
            <TableCell>{t("records.created")}</TableCell>
            <TableCell>{t("consents.state")}</TableCell>
            {decide && <TableCell>{t("common.actions")}</TableCell>}
          </TableRow>
        </TableHead>
        <TableBody>
          {requests.map((r) => (
            <TableRow key={r.id}>
              <TableCell>{shortId(decide ? r.doctor_id : r.patient_id)}</TableCell>
              <TableCell>{scopeText(r.scope)}</TableCell>
              <TableCell>{tv("purpose", r.purpose)}</TableCell>
              <TableCell>{r.reason}</TableCell>
              <TableCell>{formatTime(r.created_at)}</TableCell>
              <TableCell>
                <Chip size="small" label={tv("requestStatus", r.status)} />
              </TableCell>
              {decide && (
                <TableCell>
                  {r.status === "pending" && (
                    <Stack direction="row" spacing={1}>
                      <Button
                        size="small"
                        variant="contained"
                        onClick={() => decision.mutate({ id: r.id, verdict: "approve" })}
                      >
                        {t("requests.approve")}
                      </Button>
                      <Button
                        size="small"
                        color="error"
                        variant="outlined"
                        onClick={() => decision.mutate({ id: r.id, verdict: "deny" })}
                      >
                        {t("requests.deny")}
                      </Button>
                    </Stack>
                  )}
                </TableCell>
              )}
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </>
  );
}

export function RequestsPage() {
  const { t } = useI18n();
  const requests = useQuery({
    queryKey: ["access-requests"],
    queryFn: () => api<{ requests: AccessRequest[] }>("/api/v1/access-requests"),
  });
  return (
    <>
      <PageTitle>{t("requests.title")}</PageTitle>
      <Section title={t("requests.received")}>
        {requests.isPending && <Loading />}
        <ErrorAlert error={requests.error} />
        {requests.data && <AccessRequestTable requests={requests.data.requests} decide />}
      </Section>
    </>
  );
}
