import { useState } from "react";
import { Controller, useForm } from "react-hook-form";
import { Link as RouterLink, useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import MenuItem from "@mui/material/MenuItem";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { api, request } from "../../api";
import type { CohortCount, DataCategory, ResearchExport, ResearchProject } from "../../types";
import { SEXES } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { PageTitle, Section, shortId, visuallyHidden } from "../../components/Page";
import { ProjectStatus } from "./ProjectsPage";

interface CohortForm {
  ageMin: string;
  ageMax: string;
  sex: string;
  icd10: string;
  observationCode: string;
  observationMin: string;
  observationMax: string;
  from: string;
  to: string;
}

const number = (value: string) => (value.trim() === "" ? undefined : Number(value));

/** The criteria as the API takes them; empty fields are left out. */
function criteria(form: CohortForm) {
  const observation = form.observationCode.trim();
  return {
    age_min: number(form.ageMin),
    age_max: number(form.ageMax),
    sex: form.sex || undefined,
    icd10: form.icd10
      .split(/[\s,，]+/)
      .filter(Boolean)
      .map((code) => code.toUpperCase()),
    observations: observation
      ? [{ code: observation, min: number(form.observationMin), max: number(form.observationMax) }]
      : [],
    from: form.from || undefined,
    to: form.to || undefined,
  };
}

function CohortBuilder({ project }: { project: ResearchProject }) {
  const { t, tv } = useI18n();
  const queryClient = useQueryClient();
  const {
    control,
    register,
    handleSubmit,
    getValues,
    formState: { errors },
  } = useForm<CohortForm>({
    defaultValues: {
      ageMin: "",
      ageMax: "",
      sex: "",
      icd10: "",
      observationCode: "",
      observationMin: "",
      observationMax: "",
      from: "",
      to: "",
    },
  });
  const count = useMutation({
    mutationFn: (form: CohortForm) =>
      api<CohortCount>(`/api/v1/research/projects/${project.id}/counts`, { method: "POST", json: criteria(form) }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["research-project", project.id] }),
  });
  const age = {
    validate: (v: string) =>
      v.trim() === "" || (Number.isInteger(Number(v)) && Number(v) >= 0 && Number(v) <= 150) || t("validation.age"),
  };
  const decimal = { validate: (v: string) => v.trim() === "" || !Number.isNaN(Number(v)) || t("validation.number") };
  const queriesLeft = count.data?.queries_left;
  // The server refuses criteria on categories the project did not ask for: offer only the rest.
  const wants = (category: DataCategory) => project.categories.includes(category);
  return (
    <Stack
      component="form"
      noValidate
      spacing={2}
      aria-label={t("research.cohortBuilder")}
      onSubmit={handleSubmit((form) => count.mutate(form))}
    >
      <Typography variant="body2">{t("research.cohortExplanation")}</Typography>
      {wants("demographics") && (
        <Stack direction="row" spacing={2} useFlexGap sx={{ flexWrap: "wrap" }}>
          <TextField
            label={t("research.ageMin")}
            inputMode="numeric"
            error={!!errors.ageMin}
            helperText={errors.ageMin?.message}
            {...register("ageMin", age)}
          />
          <TextField
            label={t("research.ageMax")}
            inputMode="numeric"
            error={!!errors.ageMax}
            helperText={errors.ageMax?.message}
            {...register("ageMax", {
              validate: (v) => {
                const valid = age.validate(v);
                if (valid !== true) return valid;
                const min = getValues("ageMin");
                return v.trim() === "" || min.trim() === "" || Number(v) >= Number(min) || t("validation.ageOrder");
              },
            })}
          />
          <Controller
            name="sex"
            control={control}
            render={({ field }) => (
              <TextField select label={t("research.sex")} {...field} sx={{ minWidth: 160 }}>
                <MenuItem value="">{t("research.anySex")}</MenuItem>
                {SEXES.map((s) => (
                  <MenuItem key={s} value={s}>
                    {tv("sex", s)}
                  </MenuItem>
                ))}
              </TextField>
            )}
          />
        </Stack>
      )}
      {wants("diagnoses") && (
        <TextField
          label={t("research.icd10")}
          helperText={errors.icd10?.message ?? t("research.icd10Help")}
          error={!!errors.icd10}
          sx={{ maxWidth: 480 }}
          {...register("icd10", {
            validate: (v) =>
              v
                .split(/[\s,，]+/)
                .filter(Boolean)
                .every((code) => /^[A-Za-z]\d{2}(\.[A-Za-z0-9]{1,4})?\*?$/.test(code)) || t("validation.icd10"),
          })}
        />
      )}
      {wants("observations") && (
        <Stack direction="row" spacing={2} useFlexGap sx={{ flexWrap: "wrap" }}>
          <TextField
            label={t("research.observationCode")}
            helperText={t("research.observationHelp")}
            {...register("observationCode")}
          />
          <TextField
            label={t("research.observationMin")}
            inputMode="decimal"
            error={!!errors.observationMin}
            helperText={errors.observationMin?.message}
            {...register("observationMin", decimal)}
          />
          <TextField
            label={t("research.observationMax")}
            inputMode="decimal"
            error={!!errors.observationMax}
            helperText={errors.observationMax?.message}
            {...register("observationMax", decimal)}
          />
        </Stack>
      )}
      <Stack direction="row" spacing={2}>
        <TextField
          type="date"
          label={t("research.from")}
          slotProps={{ inputLabel: { shrink: true } }}
          {...register("from")}
        />
        <TextField
          type="date"
          label={t("research.to")}
          slotProps={{ inputLabel: { shrink: true } }}
          error={!!errors.to}
          helperText={errors.to?.message}
          {...register("to", {
            validate: (v) => !v || !getValues("from") || v >= getValues("from") || t("validation.periodOrder"),
          })}
        />
      </Stack>
      <ErrorAlert error={count.error} />
      <Box>
        <Button type="submit" variant="contained" disabled={count.isPending}>
          {t("research.count")}
        </Button>
      </Box>
      <Box role="status" aria-live="polite">
        {count.data && (
          // Announced by the surrounding live region; an alert role would interrupt.
          <Alert severity="info" role="note">
            <Typography variant="h3" component="p" data-testid="cohort-count">
              {t("research.countResult", { count: count.data.display })}
            </Typography>
            <Typography variant="body2">
              {count.data.count === null ? t("research.suppressed") : t("research.rounded")}
            </Typography>
          </Alert>
        )}
      </Box>
      <Typography variant="body2" data-testid="queries-left">
        {t("research.queriesLeft", {
          left: queriesLeft ?? Math.max(0, QUERY_BUDGET - project.queries_used),
        })}
      </Typography>
    </Stack>
  );
}

// The per-project budget of count questions (docs/research-privacy.md); the server's answer,
// once there is one, is what the page shows.
const QUERY_BUDGET = 100;

async function download(job: ResearchExport) {
  const response = await request(`/api/v1/research/exports/${job.id}/download`);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = `research-export-${job.id}.${job.format}`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

interface ExportForm {
  format: "csv" | "ndjson";
  k: string;
}

function Exports({ project }: { project: ResearchProject }) {
  const { t, tv, formatTime } = useI18n();
  const queryClient = useQueryClient();
  const [downloadError, setDownloadError] = useState<unknown>(null);
  const jobs = useQuery({
    queryKey: ["research-exports", project.id],
    queryFn: () => api<ResearchExport[]>(`/api/v1/research/projects/${project.id}/exports`),
    // Jobs run in the background: ask again while any is unfinished.
    refetchInterval: (query) =>
      query.state.data?.some((job) => job.status === "pending" || job.status === "running") ? 1500 : false,
  });
  const {
    control,
    register,
    handleSubmit,
    formState: { errors },
  } = useForm<ExportForm>({ defaultValues: { format: "csv", k: "5" } });
  const start = useMutation({
    mutationFn: (form: ExportForm) =>
      api<ResearchExport>(`/api/v1/research/projects/${project.id}/exports`, {
        method: "POST",
        json: { format: form.format, k: Number(form.k) },
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["research-exports", project.id] }),
  });
  return (
    <>
      <Stack
        component="form"
        noValidate
        direction="row"
        spacing={2}
        useFlexGap
        sx={{ flexWrap: "wrap", alignItems: "flex-start", mb: 2 }}
        aria-label={t("research.startExport")}
        onSubmit={handleSubmit((form) => start.mutate(form))}
      >
        <Controller
          name="format"
          control={control}
          render={({ field }) => (
            <TextField select label={t("research.format")} {...field} sx={{ minWidth: 160 }}>
              <MenuItem value="csv">CSV</MenuItem>
              <MenuItem value="ndjson">NDJSON (FHIR R4)</MenuItem>
            </TextField>
          )}
        />
        <TextField
          label="k"
          inputMode="numeric"
          error={!!errors.k}
          helperText={errors.k?.message ?? t("research.kHelp")}
          {...register("k", {
            validate: (v) => (Number.isInteger(Number(v)) && Number(v) >= 2 && Number(v) <= 100) || t("validation.k"),
          })}
        />
        <Button type="submit" variant="contained" disabled={start.isPending} sx={{ mt: 1 }}>
          {t("research.startExport")}
        </Button>
      </Stack>
      <ErrorAlert error={start.error ?? downloadError} />
      {jobs.isPending && <Loading />}
      <ErrorAlert error={jobs.error} />
      {jobs.data && jobs.data.length === 0 && <Typography>{t("research.noExports")}</Typography>}
      {jobs.data && jobs.data.length > 0 && (
        <Table size="small" aria-label={t("research.exports")}>
          <TableHead>
            <TableRow>
              <TableCell>{t("research.created")}</TableCell>
              <TableCell>{t("research.format")}</TableCell>
              <TableCell>k</TableCell>
              <TableCell>{t("consents.state")}</TableCell>
              <TableCell>{t("research.report")}</TableCell>
              <TableCell>{t("common.actions")}</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {jobs.data.map((job) => (
              <TableRow key={job.id} data-status={job.status}>
                <TableCell>{formatTime(job.created_at)}</TableCell>
                <TableCell>{job.format.toUpperCase()}</TableCell>
                <TableCell>{job.k}</TableCell>
                <TableCell>
                  {tv("exportStatus", job.status)}
                  {job.error && ` — ${job.error}`}
                </TableCell>
                <TableCell>
                  {job.report !== null && job.report !== undefined && (
                    <details>
                      <summary>{t("research.showReport")}</summary>
                      <Box component="pre" sx={{ fontSize: "0.8rem", whiteSpace: "pre-wrap", maxWidth: 520 }}>
                        {JSON.stringify(job.report, null, 2)}
                      </Box>
                    </details>
                  )}
                </TableCell>
                <TableCell>
                  {job.status === "done" && (
                    <Button
                      size="small"
                      onClick={() => {
                        setDownloadError(null);
                        download(job).catch(setDownloadError);
                      }}
                    >
                      {t("research.download")}
                      <Box component="span" sx={visuallyHidden}>
                        {" "}
                        {shortId(job.id)}
                      </Box>
                    </Button>
                  )}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </>
  );
}

export function ProjectPage() {
  const { t, tv } = useI18n();
  const { id = "" } = useParams();
  const project = useQuery({
    queryKey: ["research-project", id],
    queryFn: () => api<ResearchProject>(`/api/v1/research/projects/${id}`),
  });
  if (project.isPending) return <Loading />;
  if (project.isError) return <ErrorAlert error={project.error} />;
  const p = project.data;
  return (
    <>
      <PageTitle
        action={
          <Button component={RouterLink} to="/researcher">
            {t("common.back")}
          </Button>
        }
      >
        {p.title}
      </PageTitle>
      <Section title={t("research.projectDetails")}>
        <Stack spacing={1}>
          <Box>
            <ProjectStatus status={p.status} />
            {p.decision_reason && <Typography component="span" sx={{ ml: 1 }}>{p.decision_reason}</Typography>}
          </Box>
          <Typography>
            {t("research.purpose")}: {tv("researchPurpose", p.purpose)} · {t("research.ethics")}: {p.ethics_approval}
          </Typography>
          <Typography>
            {t("research.categories")}: {p.categories.map((c) => tv("dataCategory", c)).join("、")}
          </Typography>
          <Typography>
            {t("research.period")}: {p.period_start} – {p.period_end}
          </Typography>
          <Typography variant="body2">{p.description}</Typography>
        </Stack>
      </Section>
      {p.status === "approved" ? (
        <>
          <Section title={t("research.cohortBuilder")}>
            <CohortBuilder project={p} />
          </Section>
          <Section title={t("research.exports")}>
            <Exports project={p} />
          </Section>
        </>
      ) : (
        <Alert severity="info">{t(p.status === "pending" ? "research.awaitingApproval" : "research.rejected")}</Alert>
      )}
    </>
  );
}
