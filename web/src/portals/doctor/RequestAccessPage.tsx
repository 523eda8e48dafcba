import { Controller, useForm } from "react-hook-form";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Button from "@mui/material/Button";
import MenuItem from "@mui/material/MenuItem";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Alert from "@mui/material/Alert";
import { api } from "../../api";
import type { AccessRequest, Scope } from "../../types";
import { CATEGORIES, PURPOSES } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { PageTitle, Section } from "../../components/Page";
import { AccessRequestTable } from "../patient/RequestsPage";

interface RequestForm {
  patient: string;
  scope: string;
  purpose: string;
  reason: string;
}

export function RequestAccessPage() {
  const { t, tv } = useI18n();
  const queryClient = useQueryClient();
  const requests = useQuery({
    queryKey: ["access-requests"],
    queryFn: () => api<{ requests: AccessRequest[] }>("/api/v1/access-requests"),
  });
  const {
    control,
    register,
    handleSubmit,
    reset,
    formState: { errors },
  } = useForm<RequestForm>({ defaultValues: { patient: "", scope: "all", purpose: "treatment", reason: "" } });
  const send = useMutation({
    mutationFn: (form: RequestForm) => {
      const scope: Scope =
        form.scope === "all" ? { kind: "all" } : { kind: "categories", categories: [form.scope as (typeof CATEGORIES)[number]] };
      return api<AccessRequest>("/api/v1/access-requests", {
        method: "POST",
        json: { patient: form.patient.trim(), scope, purpose: form.purpose, reason: form.reason.trim() },
      });
    },
    onSuccess: () => {
      reset();
      queryClient.invalidateQueries({ queryKey: ["access-requests"] });
    },
  });
  return (
    <>
      <PageTitle>{t("nav.requestAccess")}</PageTitle>
      <Section title={t("doctor.newRequest")}>
        <Stack component="form" noValidate spacing={2} onSubmit={handleSubmit((form) => send.mutate(form))}>
          <TextField
            label={t("doctor.patientUsername")}
            error={!!errors.patient}
            helperText={errors.patient?.message}
            sx={{ maxWidth: 360 }}
            {...register("patient", { required: t("validation.patientRequired") })}
          />
          <Controller
            name="scope"
            control={control}
            render={({ field }) => (
              <TextField select label={t("consents.scope")} sx={{ maxWidth: 360 }} {...field}>
                <MenuItem value="all">{t("scope.all")}</MenuItem>
                {CATEGORIES.map((c) => (
                  <MenuItem key={c} value={c}>
                    {tv("category", c)}
                  </MenuItem>
                ))}
              </TextField>
            )}
          />
          <Controller
            name="purpose"
            control={control}
            render={({ field }) => (
              <TextField select label={t("requests.purpose")} sx={{ maxWidth: 360 }} {...field}>
                {PURPOSES.map((p) => (
                  <MenuItem key={p} value={p}>
                    {tv("purpose", p)}
                  </MenuItem>
                ))}
              </TextField>
            )}
          />
          <TextField
            label={t("requests.reason")}
            multiline
            minRows={2}
            error={!!errors.reason}
            helperText={errors.reason?.message}
            {...register("reason", { required: t("validation.reasonRequired") })}
          />
          <ErrorAlert error={send.error} />
          {send.isSuccess && <Alert severity="success">{t("doctor.requestSent")}</Alert>}
          <div>
            <Button type="submit" variant="contained" disabled={send.isPending}>
              {t("doctor.sendRequest")}
            </Button>
          </div>
        </Stack>
      </Section>
      <Section title={t("doctor.myRequests")}>
        {requests.isPending && <Loading />}
        <ErrorAlert error={requests.error} />
        {requests.data && <AccessRequestTable requests={requests.data.requests} decide={false} />}
      </Section>
    </>
  );
}
