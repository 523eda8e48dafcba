import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { api } from "../../api";
import type { ResearchProject } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { visuallyHidden } from "../../components/Page";

/** Research projects waiting for a decision; a rejection may carry a reason the researcher sees. */
export function ResearchApprovals() {
  const { t, tv } = useI18n();
  const queryClient = useQueryClient();
  const [reasons, setReasons] = useState<Record<string, string>>({});
  const projects = useQuery({
    queryKey: ["research-projects"],
    queryFn: () => api<ResearchProject[]>("/api/v1/research/projects"),
  });
  const decide = useMutation({
    mutationFn: ({ id, approve }: { id: string; approve: boolean }) =>
      api<ResearchProject>(`/api/v1/research/projects/${id}/decision`, {
        method: "POST",
        json: { approve, reason: reasons[id]?.trim() || undefined },
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["research-projects"] }),
  });
  if (projects.isPending) return <Loading />;
  if (projects.isError) return <ErrorAlert error={projects.error} />;
  const pending = projects.data.filter((p) => p.status === "pending");
  if (pending.length === 0) return <Typography>{t("research.noPendingProjects")}</Typography>;
  return (
    <>
      <ErrorAlert error={decide.error} />
      <Table size="small" aria-label={t("research.pendingProjects")}>
        <TableHead>
          <TableRow>
            <TableCell>{t("research.title")}</TableCell>
            <TableCell>{t("research.purpose")}</TableCell>
            <TableCell>{t("research.categories")}</TableCell>
            <TableCell>{t("research.ethics")}</TableCell>
            <TableCell>{t("common.actions")}</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {pending.map((project) => (
            <TableRow key={project.id} data-project={project.title}>
              <TableCell>
                {project.title}
                <Typography variant="body2">{project.description}</Typography>
                <Typography variant="body2">
                  {project.period_start} – {project.period_end}
                </Typography>
              </TableCell>
              <TableCell>{tv("researchPurpose", project.purpose)}</TableCell>
              <TableCell>{project.categories.map((c) => tv("dataCategory", c)).join("、")}</TableCell>
              <TableCell>{project.ethics_approval}</TableCell>
              <TableCell>
                <Stack spacing={1}>
                  <TextField
                    size="small"
                    label={t("research.decisionReasonFor", { title: project.title })}
                    value={reasons[project.id] ?? ""}
                    onChange={(e) => setReasons({ ...reasons, [project.id]: e.target.value })}
                  />
                  <Stack direction="row" spacing={1}>
                    <Button
                      size="small"
                      variant="contained"
                      disabled={decide.isPending}
                      onClick={() => decide.mutate({ id: project.id, approve: true })}
                    >
                      {t("admin.approve")}
                      <Box component="span" sx={visuallyHidden}>
                        {" "}
                        {project.title}
                      </Box>
                    </Button>
                    <Button
                      size="small"
                      color="error"
                      disabled={decide.isPending}
                      onClick={() => decide.mutate({ id: project.id, approve: false })}
                    >
                      {t("research.reject")}
                      <Box component="span" sx={visuallyHidden}>
                        {" "}
                        {project.title}
                      </Box>
                    </Button>
                  </Stack>
                </Stack>
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </>
  );
}
