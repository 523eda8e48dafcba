import { useState } from "react";
import { useForm } from "react-hook-form";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Checkbox from "@mui/material/Checkbox";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import FormControlLabel from "@mui/material/FormControlLabel";
import TextField from "@mui/material/TextField";
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
  const [approving, setApproving] = useState<AccessRequest | null>(null);
  const decision = useMutation({
    mutationFn: ({ id, verdict, terms }: { id: string; verdict: "approve" | "deny"; terms?: ApprovalTerms }) =>
      api<AccessRequest>(`/api/v1/access-requests/${id}/${verdict}`, {
        method: "POST",
        json:
          verdict === "approve"
            ? {
                allow_write: terms?.allowWrite ?? false,
                expires_at: terms?.expires ? new Date(`${terms.expires}T23:59:59`).toISOString() : undefined,
              }
            : undefined,
      }),
    onSuccess: () => {
      setApproving(null);
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
                        onClick={() => setApproving(r)}
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
      {approving && (
        <ApproveDialog
          request={approving}
          pending={decision.isPending}
          onCancel={() => setApproving(null)}
          onApprove={(terms) => decision.mutate({ id: approving.id, verdict: "approve", terms })}
        />
      )}
    </>
  );
}

interface ApprovalTerms {
  allowWrite: boolean;
  expires: string;
}

/** Approving creates the consent the doctor asked for; the patient may add writing and an expiry. */
function ApproveDialog({
  request,
  pending,
  onCancel,
  onApprove,
}: {
  request: AccessRequest;
  pending: boolean;
  onCancel: () => void;
  onApprove: (terms: ApprovalTerms) => void;
}) {
  const { t } = useI18n();
  const scopeText = useScopeText();
  const today = new Date().toISOString().slice(0, 10);
  const {
    register,
    handleSubmit,
    formState: { errors },
  } = useForm<ApprovalTerms>({ defaultValues: { allowWrite: false, expires: "" } });
  return (
    <Dialog open onClose={onCancel} aria-labelledby="approve-title">
      <form noValidate onSubmit={handleSubmit(onApprove)}>
        <DialogTitle id="approve-title">{t("requests.approveTitle")}</DialogTitle>
        <DialogContent>
          <Typography sx={{ mb: 2 }}>
            {scopeText(request.scope)} · {request.reason}
          </Typography>
          <FormControlLabel control={<Checkbox {...register("allowWrite")} />} label={t("consents.allowWrite")} />
          <TextField
            label={t("consents.expires")}
            type="date"
            fullWidth
            margin="normal"
            slotProps={{ inputLabel: { shrink: true }, htmlInput: { min: today } }}
            error={!!errors.expires}
            helperText={errors.expires?.message ?? t("consents.expiresHelp")}
            {...register("expires", { validate: (v) => !v || v >= today || t("validation.expiryPast") })}
          />
        </DialogContent>
        <DialogActions>
          <Button onClick={onCancel}>{t("common.cancel")}</Button>
          <Button type="submit" variant="contained" disabled={pending}>
            {t("requests.approveConfirm")}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
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
