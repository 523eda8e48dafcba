import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useForm } from "react-hook-form";
import { useParams } from "react-router";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import Grid from "@mui/material/Grid";
import List from "@mui/material/List";
import ListItem from "@mui/material/ListItem";
import ListItemText from "@mui/material/ListItemText";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { ApiError, api } from "../../api";
import type { Entity, PatientRisk, RecordAnalysis, RecordView } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { PageTitle, Section, shortId, visuallyHidden } from "../../components/Page";
import { RecordContent } from "../../components/RecordContent";
import { RecordTable } from "../../components/RecordTable";
import { TrendChart } from "../../components/TrendChart";
import type { Point } from "../../components/TrendChart";
import { AlertList } from "./AlertsPage";
import { UploadForm } from "../patient/UploadPage";

const PURPOSE = "treatment";

function BreakGlass({ record, onGranted }: { record: string; onGranted: () => void }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const {
    register,
    handleSubmit,
    formState: { errors },
  } = useForm<{ reason: string }>({ defaultValues: { reason: "" } });
  const declare = useMutation({
    mutationFn: (reason: string) =>
      api<unknown>(`/api/v1/records/${record}/emergency-access`, { method: "POST", json: { reason } }),
    onSuccess: () => {
      setOpen(false);
      onGranted();
    },
  });
  return (
    <>
      <Button color="warning" variant="contained" onClick={() => setOpen(true)}>
        {t("chart.breakGlass")}
      </Button>
      <Dialog open={open} onClose={() => setOpen(false)} aria-labelledby="break-glass-title">
        <Box component="form" noValidate onSubmit={handleSubmit(({ reason }) => declare.mutate(reason.trim()))}>
          <DialogTitle id="break-glass-title">{t("chart.breakGlass")}</DialogTitle>
          <DialogContent>
            <Typography sx={{ mb: 2 }}>{t("chart.breakGlassWarning")}</Typography>
            <TextField
              label={t("requests.reason")}
              fullWidth
              multiline
              minRows={2}
              error={!!errors.reason}
              helperText={errors.reason?.message}
              {...register("reason", { required: t("validation.reasonRequired") })}
            />
            <ErrorAlert error={declare.error} />
          </DialogContent>
          <DialogActions>
            <Button onClick={() => setOpen(false)}>{t("common.cancel")}</Button>
            <Button type="submit" color="warning" variant="contained" disabled={declare.isPending}>
              {t("chart.breakGlassConfirm")}
            </Button>
          </DialogActions>
        </Box>
      </Dialog>
    </>
  );
}

/** Diagnoses the NLP found affirmed in the patient's notes (those the consent lets us read). */
function Problems({ notes }: { notes: RecordView[] }) {
  const { t } = useI18n();
  const problems = useQuery({
    queryKey: ["problems", notes.map((n) => n.id).join(",")],
    queryFn: async () => {
      const found = new Map<string, Entity>();
      for (const note of notes) {
        const analysis = await api<RecordAnalysis>(`/api/v1/records/${note.id}/nlp`, {
          query: { purpose: PURPOSE },
        }).catch(() => null);
        for (const entity of analysis?.analysis.entities ?? []) {
          if (entity.type === "dis" && !entity.negated && !entity.family) found.set(entity.text, entity);
        }
      }
      return [...found.values()];
    },
  });
  if (problems.isPending) return <Loading />;
  if (!problems.data?.length) return <Typography>{t("chart.noProblems")}</Typography>;
  return (
    <Stack direction="row" spacing={1} useFlexGap flexWrap="wrap">
      {problems.data.map((p) => (
        <Chip
          key={p.text}
          label={`${p.text}${p.icd10 ? ` · ${p.icd10}` : ""}${p.historical ? ` (${t("nlp.historical")})` : ""}`}
        />
      ))}
    </Stack>
  );
}

interface Observation {
  code: string;
  value: unknown;
  unit?: string;
  time?: string;
}

function VitalTrends({ records }: { records: RecordView[] }) {
  const { t } = useI18n();
  const vitals = useQuery({
    queryKey: ["vitals", records.map((r) => r.id).join(",")],
    queryFn: async () => {
      const series = new Map<string, { unit: string; points: Point[] }>();
      for (const record of records) {
        const body = await api<{ observations?: Observation[] }>(`/api/v1/records/${record.id}/content`, {
          query: { purpose: PURPOSE },
        }).catch(() => null);
        for (const obs of body?.observations ?? []) {
          if (typeof obs.value !== "number") continue;
          const entry = series.get(obs.code) ?? { unit: obs.unit ?? "", points: [] };
          entry.points.push({ time: Date.parse(obs.time ?? record.created_at), value: obs.value });
          series.set(obs.code, entry);
        }
      }
      return [...series.entries()];
    },
  });
  if (vitals.isPending) return <Loading />;
  if (!vitals.data?.length) return <Typography>{t("chart.noVitals")}</Typography>;
  return (
    <Stack direction="row" spacing={2} useFlexGap flexWrap="wrap">
      {vitals.data.map(([code, { unit, points }]) => (
        <TrendChart key={code} title={code} unit={unit} points={points} />
      ))}
    </Stack>
  );
}

function RiskScores({ patient }: { patient: string }) {
  const { t } = useI18n();
  // An additive score with missing inputs has no total; its partial total is a lower bound.
  const scoreValue = (score: PatientRisk["scores"][number]) =>
    score.total ?? (typeof score.partial_total === "number" ? `≥ ${score.partial_total} (${t("chart.partial")})` : "—");
  const risk = useQuery({
    queryKey: ["risk", patient],
    queryFn: () => api<PatientRisk>(`/api/v1/cdss/patients/${patient}/risk`, { query: { purpose: PURPOSE } }),
  });
  if (risk.isPending) return <Loading />;
  if (risk.error instanceof ApiError && risk.error.code === "CONSENT_REQUIRED")
    return <Alert severity="info">{t("chart.riskNeedsFullConsent")}</Alert>;
  if (risk.isError) return <ErrorAlert error={risk.error} />;
  return (
    <>
      {risk.data.scores.length === 0 && <Typography>{t("chart.noScores")}</Typography>}
      <List dense>
        {risk.data.scores.map((score, i) => (
          <ListItem key={i} disableGutters alignItems="flex-start">
            <ListItemText
              primary={`${String(score.score ?? score.name ?? "").toUpperCase()}: ${scoreValue(score)}${score.band ? ` (${score.band})` : ""}`}
              secondary={(score.components ?? [])
                .map((c) => `${c.name ?? ""} ${c.value !== undefined ? `= ${String(c.value)}` : ""} → ${c.points ?? 0}`)
                .join("；")}
            />
          </ListItem>
        ))}
      </List>
      {risk.data.not_computed.length > 0 && (
        <Typography variant="body2">
          {t("chart.notComputed")}: {risk.data.not_computed.map((n) => n.score).join("、")}
        </Typography>
      )}
    </>
  );
}

export function PatientChart() {
  const { id = "" } = useParams();
  const { t, tv } = useI18n();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState<{ id: string; nonce: number } | null>(null);
  const [grantedEmergency, setGrantedEmergency] = useState(false);
  const records = useQuery({
    queryKey: ["records", id],
    queryFn: () => api<{ records: RecordView[] }>("/api/v1/records", { query: { patient: id, limit: 200 } }),
  });
  const all = records.data?.records ?? [];
  const notes = all.filter((r) => r.category === "clinical-note" || r.category === "discharge-summary");
  const vitals = all.filter((r) => r.category === "vital-signs");
  return (
    <>
      <PageTitle
        action={
          // Emergency access is declared on a record and opens all of its patient's records.
          all[0] && !grantedEmergency ? (
            <BreakGlass
              record={all[0].id}
              onGranted={() => {
                setGrantedEmergency(true);
                queryClient.invalidateQueries();
              }}
            />
          ) : null
        }
      >
        {t("chart.title")} · {shortId(id)}
      </PageTitle>
      {grantedEmergency && (
        <Alert severity="warning" role="status" sx={{ mb: 2 }}>
          {t("chart.emergencyActive")}
        </Alert>
      )}
      <Grid container spacing={3}>
        <Grid size={{ xs: 12, md: 7 }}>
          <Section title={t("records.title")}>
            {records.isPending && <Loading />}
            <ErrorAlert error={records.error} />
            {records.data && (
              <RecordTable
                records={all}
                action={(record) => (
                  <Button
                    size="small"
                    variant="outlined"
                    onClick={() => setOpen({ id: record.id, nonce: Date.now() })}
                  >
                    {t("chart.read")}
                    <Box component="span" sx={visuallyHidden}>
                      {" "}
                      {tv("category", record.category)}
                    </Box>
                  </Button>
                )}
              />
            )}
          </Section>
          {open && (
            <Section title={t("record.content")}>
              <RecordContent
                id={open.id}
                purpose={PURPOSE}
                nonce={open.nonce}
                onError={(error) =>
                  error instanceof ApiError && error.code === "CONSENT_REQUIRED" ? (
                    <BreakGlass
                      record={open.id}
                      onGranted={() => {
                        setGrantedEmergency(true);
                        setOpen({ id: open.id, nonce: Date.now() });
                        queryClient.invalidateQueries();
                      }}
                    />
                  ) : null
                }
              />
            </Section>
          )}
          <Section title={t("chart.writeNote")}>
            <UploadForm
              notesOnly
              patient={id}
              purpose={PURPOSE}
              onDone={() => queryClient.invalidateQueries({ queryKey: ["records", id] })}
            />
          </Section>
        </Grid>
        <Grid size={{ xs: 12, md: 5 }}>
          <Section title={t("chart.alerts")}>
            <AlertList patient={id} />
          </Section>
          <Section title={t("chart.problems")}>
            {records.data ? <Problems notes={notes} /> : null}
          </Section>
          <Section title={t("chart.risk")}>
            <RiskScores patient={id} />
          </Section>
          <Section title={t("chart.vitals")}>
            {records.data ? <VitalTrends records={vitals} /> : null}
          </Section>
        </Grid>
      </Grid>
    </>
  );
}

