import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { api } from "../../api";
import type { User } from "../../api";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { PageTitle, Section, visuallyHidden } from "../../components/Page";
import { ResearchApprovals } from "./ResearchApprovals";

function UserTable({ status }: { status?: "pending" }) {
  const { t, tv, formatTime } = useI18n();
  const queryClient = useQueryClient();
  const users = useQuery({
    queryKey: ["users", status],
    queryFn: () => api<{ users: User[] }>("/api/v1/admin/users", { query: { status, limit: 200 } }),
  });
  const act = useMutation({
    mutationFn: ({ id, action }: { id: string; action: "approve" | "suspend" }) =>
      api<User>(`/api/v1/admin/users/${id}/${action}`, { method: "POST" }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["users"] }),
  });
  if (users.isPending) return <Loading />;
  if (users.isError) return <ErrorAlert error={users.error} />;
  if (users.data.users.length === 0)
    return <Typography>{status ? t("admin.noPending") : t("admin.noUsers")}</Typography>;
  return (
    <>
      <ErrorAlert error={act.error} />
      <Table size="small" aria-label={t("nav.users")}>
        <TableHead>
          <TableRow>
            <TableCell>{t("login.username")}</TableCell>
            <TableCell>{t("admin.role")}</TableCell>
            <TableCell>{t("consents.state")}</TableCell>
            <TableCell>{t("admin.registered")}</TableCell>
            <TableCell>{t("common.actions")}</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {users.data.users.map((user) => (
            <TableRow key={user.id}>
              <TableCell>{user.username}</TableCell>
              <TableCell>{tv("role", user.role)}</TableCell>
              <TableCell>
                <Chip size="small" label={tv("userStatus", user.status)} />
              </TableCell>
              <TableCell>{formatTime(user.created_at)}</TableCell>
              <TableCell>
                {user.status === "pending" && (
                  <Button size="small" variant="contained" onClick={() => act.mutate({ id: user.id, action: "approve" })}>
                    {t("admin.approve")}
                    <Box component="span" sx={visuallyHidden}>
                      {" "}
                      {user.username}
                    </Box>
                  </Button>
                )}
                {user.status === "active" && user.role !== "admin" && (
                  <Button size="small" color="error" onClick={() => act.mutate({ id: user.id, action: "suspend" })}>
                    {t("admin.suspend")}
                    <Box component="span" sx={visuallyHidden}>
                      {" "}
                      {user.username}
                    </Box>
                  </Button>
                )}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </>
  );
}

export function ApprovalsPage() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t("nav.approvals")}</PageTitle>
      <Section title={t("admin.pending")}>
        <UserTable status="pending" />
      </Section>
      <Section title={t("research.pendingProjects")}>
        <ResearchApprovals />
      </Section>
    </>
  );
}

export function UsersPage() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t("nav.users")}</PageTitle>
      <Section title={t("admin.allUsers")}>
        <UserTable />
      </Section>
    </>
  );
}
