import { useEffect } from "react";
import { Controller, useForm } from "react-hook-form";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Checkbox from "@mui/material/Checkbox";
import MenuItem from "@mui/material/MenuItem";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { api } from "../../api";
import type { DataCategory, ParticipationView, ProfileView, ResearchConsentView, ResearchPurpose } from "../../types";
import { DATA_CATEGORIES, RESEARCH_PURPOSES, SEXES } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, isNotFound, Loading } from "../../components/Feedback";
import { PageTitle, Section, shortId } from "../../components/Page";

interface ProfileForm {
  sex: string;
  birth_date: string;
  region: string;
}

/** Sex, birth date and region: what research counts and exports use, only ever generalised. */
function ProfileSection() {
  const { t, tv } = useI18n();
  const queryClient = useQueryClient();
  const profile = useQuery({
    queryKey: ["profile"],
    queryFn: () => api<ProfileView>("/api/v1/me/profile"),
    retry: false,
  });
  const {
    control,
    register,
    handleSubmit,
    reset,
    formState: { errors },
  } = useForm<ProfileForm>({ defaultValues: { sex: "unknown", birth_date: "", region: "" } });
  useEffect(() => {
    if (profile.data) reset({ sex: profile.data.sex, birth_date: profile.data.birth_date, region: profile.data.region });
  }, [profile.data, reset]);
  const save = useMutation({
    mutationFn: (form: ProfileForm) =>
      api<ProfileView>("/api/v1/me/profile", { method: "PUT", json: { ...form, region: form.region.trim() } }),
    onSuccess: (saved) => queryClient.setQueryData(["profile"], saved),
  });
  const today = new Date().toISOString().slice(0, 10);
  if (profile.isPending) return <Loading />;
  return (
    <Stack
      component="form"
      noValidate
      spacing={2}
      aria-label={t("research.profile")}
      onSubmit={handleSubmit((form) => save.mutate(form))}
    >
      <Typography variant="body2">{t("research.profileExplanation")}</Typography>
      {profile.isError && !isNotFound(profile.error) && <ErrorAlert error={profile.error} />}
      <Controller
        name="sex"
        control={control}
        render={({ field }) => (
          <TextField select label={t("research.sex")} {...field} sx={{ maxWidth: 360 }}>
            {SEXES.map((s) => (
              <MenuItem key={s} value={s}>
                {tv("sex", s)}
              </MenuItem>
            ))}
          </TextField>
        )}
      />
      <TextField
        type="date"
        label={t("research.birthDate")}
        slotProps={{ inputLabel: { shrink: true }, htmlInput: { max: today } }}
        error={!!errors.birth_date}
        helperText={errors.birth_date?.message}
        sx={{ maxWidth: 360 }}
        {...register("birth_date", {
          required: t("validation.birthDateRequired"),
          validate: (v) => v <= today || t("validation.birthDateFuture"),
        })}
      />
      <TextField
        label={t("research.region")}
        error={!!errors.region}
        helperText={errors.region?.message ?? t("research.regionHelp")}
        sx={{ maxWidth: 360 }}
        {...register("region", {
          required: t("validation.regionFormat"),
          pattern: { value: /^\s*\d{6}\s*$/, message: t("validation.regionFormat") },
        })}
      />
      <ErrorAlert error={save.error} />
      {save.isSuccess && <Alert severity="success">{t("research.profileSaved")}</Alert>}
      <Box>
        <Button type="submit" variant="contained" disabled={save.isPending}>
          {t("research.saveProfile")}
        </Button>
      </Box>
    </Stack>
  );
}

/** One checkbox per purpose and category; anything never chosen is opted out. */
function ConsentMatrix() {
  const { t, tv } = useI18n();
  const queryClient = useQueryClient();
  const consents = useQuery({
    queryKey: ["research-consents"],
    queryFn: () => api<ResearchConsentView[]>("/api/v1/me/research-consents"),
  });
  const change = useMutation({
    mutationFn: (choice: { purpose: ResearchPurpose; category: DataCategory; opted_in: boolean }) =>
      api<ResearchConsentView>("/api/v1/me/research-consents", { method: "PUT", json: choice }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["research-consents"] }),
  });
  if (consents.isPending) return <Loading />;
  if (consents.isError) return <ErrorAlert error={consents.error} />;
  const optedIn = (purpose: ResearchPurpose, category: DataCategory) =>
    consents.data.some((c) => c.purpose === purpose && c.category === category && c.opted_in);
  return (
    <>
      <Typography variant="body2" sx={{ mb: 2 }}>
        {t("research.consentExplanation")}
      </Typography>
      <ErrorAlert error={change.error} />
      <Table size="small" aria-label={t("research.consentTitle")}>
        <TableHead>
          <TableRow>
            <TableCell>{t("research.purpose")}</TableCell>
            {DATA_CATEGORIES.map((category) => (
              <TableCell key={category}>{tv("dataCategory", category)}</TableCell>
            ))}
          </TableRow>
        </TableHead>
        <TableBody>
          {RESEARCH_PURPOSES.map((purpose) => (
            <TableRow key={purpose}>
              <TableCell>{tv("researchPurpose", purpose)}</TableCell>
              {DATA_CATEGORIES.map((category) => (
                <TableCell key={category}>
                  <Checkbox
                    checked={optedIn(purpose, category)}
                    disabled={change.isPending}
                    data-purpose={purpose}
                    data-category={category}
                    onChange={(e) => change.mutate({ purpose, category, opted_in: e.target.checked })}
                    slotProps={{
                      input: {
                        "aria-label": `${tv("researchPurpose", purpose)}: ${tv("dataCategory", category)}`,
                      },
                    }}
                  />
                </TableCell>
              ))}
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </>
  );
}

function ParticipationList() {
  const { t, formatTime } = useI18n();
  const exports = useQuery({
    queryKey: ["research-participation"],
    queryFn: () => api<ParticipationView[]>("/api/v1/me/research-exports"),
  });
  if (exports.isPending) return <Loading />;
  if (exports.isError) return <ErrorAlert error={exports.error} />;
  if (exports.data.length === 0) return <Typography>{t("research.noParticipation")}</Typography>;
  return (
    <Table size="small" aria-label={t("research.participationList")}>
      <TableHead>
        <TableRow>
          <TableCell>{t("research.project")}</TableCell>
          <TableCell>{t("research.researcher")}</TableCell>
          <TableCell>{t("research.exportedAt")}</TableCell>
          <TableCell>SHA-256</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {exports.data.map((row) => (
          <TableRow key={row.export_id}>
            <TableCell>{row.project_title}</TableCell>
            <TableCell sx={{ wordBreak: "break-all" }}>{row.researcher_did}</TableCell>
            <TableCell>{row.exported_at ? formatTime(row.exported_at) : "—"}</TableCell>
            <TableCell sx={{ fontFamily: "monospace" }}>{row.sha256 ? shortId(row.sha256) : "—"}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

/** Research participation: the profile research uses, opt-in per purpose and category, and where the data went. */
export function ResearchSettingsPage() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t("research.participationTitle")}</PageTitle>
      <Section title={t("research.consentTitle")}>
        <ConsentMatrix />
      </Section>
      <Section title={t("research.profile")}>
        <ProfileSection />
      </Section>
      <Section title={t("research.participationList")}>
        <ParticipationList />
      </Section>
    </>
  );
}
