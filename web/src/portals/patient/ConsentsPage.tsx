import { useState } from "react";
import { Controller, useForm } from "react-hook-form";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Button from "@mui/material/Button";
import Checkbox from "@mui/material/Checkbox";
import Chip from "@mui/material/Chip";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import FormControl from "@mui/material/FormControl";
import FormControlLabel from "@mui/material/FormControlLabel";
import FormGroup from "@mui/material/FormGroup";
import FormHelperText from "@mui/material/FormHelperText";
import FormLabel from "@mui/material/FormLabel";
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
import type { Category, Consent, Purpose, Scope } from "../../types";
import { CATEGORIES, PURPOSES } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { PageTitle, Section, shortId } from "../../components/Page";
import { useScopeText } from "../../components/ScopeText";

interface GrantForm {
  grantee: string;
  scopeKind: "all" | "categories";
  categories: string[];
  purposes: Purpose[];
  allowWrite: boolean;
  expires: string;
}

function GrantConsentForm() {
  const { t, tv } = useI18n();
  const queryClient = useQueryClient();
  const {
    control,
    register,
    handleSubmit,
    watch,
    reset,
    formState: { errors },
  } = useForm<GrantForm>({
    defaultValues: {
      grantee: "",
      scopeKind: "categories",
      categories: ["clinical-note"],
      purposes: ["treatment"],
      allowWrite: false,
      expires: "",
    },
  });
  const grant = useMutation({
    mutationFn: (form: GrantForm) => {
      const scope: Scope =
        form.scopeKind === "all"
          ? { kind: "all" }
          : { kind: "categories", categories: form.categories as Category[] };
      return api<Consent>("/api/v1/consents", {
        method: "POST",
        json: {
          grantee: form.grantee.trim(),
          scope,
          purposes: form.purposes,
          allow_write: form.allowWrite,
          expires_at: form.expires ? new Date(`${form.expires}T23:59:59`).toISOString() : undefined,
        },
      });
    },
    onSuccess: () => {
      queryClient.invalidateQueries({ queryKey: ["consents"] });
      reset();
    },
  });
  const scopeKind = watch("scopeKind");
  const today = new Date().toISOString().slice(0, 10);
  return (
    <Stack
      component="form"
      noValidate
      spacing={2}
      aria-label={t("consents.grant")}
      onSubmit={handleSubmit((form) => grant.mutate(form))}
    >
      <TextField
        label={t("consents.grantee")}
        helperText={errors.grantee?.message ?? t("consents.granteeHelp")}
        error={!!errors.grantee}
        sx={{ maxWidth: 360 }}
        {...register("grantee", { required: t("validation.granteeRequired") })}
      />
      <Controller
        name="scopeKind"
        control={control}
        render={({ field }) => (
          <TextField select label={t("consents.scope")} {...field} sx={{ maxWidth: 360 }}>
            <MenuItem value="all">{t("scope.all")}</MenuItem>
            <MenuItem value="categories">{t("scope.categories")}</MenuItem>
          </TextField>
        )}
      />
      {scopeKind === "categories" && (
        <Controller
          name="categories"
          control={control}
          rules={{ validate: (v) => v.length > 0 || t("validation.categoryRequired") }}
          render={({ field }) => (
            <FormControl error={!!errors.categories} component="fieldset">
              <FormLabel component="legend">{t("consents.categories")}</FormLabel>
              <FormGroup row>
                {CATEGORIES.map((c) => (
                  <FormControlLabel
                    key={c}
                    label={tv("category", c)}
                    control={
                      <Checkbox
                        checked={field.value.includes(c)}
                        onChange={(e) =>
                          field.onChange(e.target.checked ? [...field.value, c] : field.value.filter((v) => v !== c))
                        }
                      />
                    }
                  />
                ))}
              </FormGroup>
              {errors.categories && <FormHelperText>{errors.categories.message}</FormHelperText>}
            </FormControl>
          )}
        />
      )}
      <Controller
        name="purposes"
        control={control}
        rules={{ validate: (v) => v.length > 0 || t("validation.purposeRequired") }}
        render={({ field }) => (
          <FormControl error={!!errors.purposes} component="fieldset">
            <FormLabel component="legend">{t("consents.purposes")}</FormLabel>
            <FormGroup row>
              {PURPOSES.map((p) => (
                <FormControlLabel
                  key={p}
                  label={tv("purpose", p)}
                  control={
                    <Checkbox
                      checked={field.value.includes(p)}
                      onChange={(e) =>
                        field.onChange(e.target.checked ? [...field.value, p] : field.value.filter((v) => v !== p))
                      }
                    />
                  }
                />
              ))}
            </FormGroup>
            {errors.purposes && <FormHelperText>{errors.purposes.message}</FormHelperText>}
          </FormControl>
        )}
      />
      <Controller
        name="allowWrite"
        control={control}
        render={({ field }) => (
          <FormControlLabel
            label={t("consents.allowWrite")}
            control={<Checkbox checked={field.value} onChange={(e) => field.onChange(e.target.checked)} />}
          />
        )}
      />
      <TextField
        label={t("consents.expires")}
        type="date"
        slotProps={{ inputLabel: { shrink: true }, htmlInput: { min: today } }}
        error={!!errors.expires}
        helperText={errors.expires?.message ?? t("consents.expiresHelp")}
        sx={{ maxWidth: 240 }}
        {...register("expires", { validate: (v) => !v || v >= today || t("validation.expiryPast") })}
      />
      <ErrorAlert error={grant.error} />
      <div>
        <Button type="submit" variant="contained" disabled={grant.isPending}>
          {t("consents.grantSubmit")}
        </Button>
      </div>
    </Stack>
  );
}

function RevokeButton({ consent, label }: { consent: Consent; label: string }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => api<unknown>(`/api/v1/consents/${consent.id}/revoke`, { method: "POST" }),
    onSuccess: () => {
      setOpen(false);
      queryClient.invalidateQueries({ queryKey: ["consents"] });
    },
  });
  return (
    <>
      <Button color="error" size="small" variant="outlined" onClick={() => setOpen(true)} aria-label={`${t("consents.revoke")}: ${label}`}>
        {t("consents.revoke")}
      </Button>
      <Dialog open={open} onClose={() => setOpen(false)} aria-labelledby={`revoke-${consent.id}`}>
        <DialogTitle id={`revoke-${consent.id}`}>{t("consents.revokeConfirmTitle")}</DialogTitle>
        <DialogContent>
          <Typography>{label}</Typography>
          <Typography>{t("consents.revokeConfirm")}</Typography>
          <ErrorAlert error={revoke.error} />
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setOpen(false)}>{t("common.cancel")}</Button>
          <Button color="error" variant="contained" onClick={() => revoke.mutate()} disabled={revoke.isPending}>
            {t("consents.revokeConfirmButton")}
          </Button>
        </DialogActions>
      </Dialog>
    </>
  );
}

export function ConsentTable({ consents, canRevoke }: { consents: Consent[]; canRevoke: boolean }) {
  const { t, tv, formatTime } = useI18n();
  const scopeText = useScopeText();
  if (consents.length === 0) return <Typography>{t("consents.none")}</Typography>;
  return (
    <Table size="small" aria-label={t("consents.list")}>
      <TableHead>
        <TableRow>
          <TableCell>{canRevoke ? t("consents.grantee") : t("consents.patient")}</TableCell>
          <TableCell>{t("consents.scope")}</TableCell>
          <TableCell>{t("consents.purposes")}</TableCell>
          <TableCell>{t("consents.expires")}</TableCell>
          <TableCell>{t("consents.state")}</TableCell>
          {canRevoke && <TableCell>{t("common.actions")}</TableCell>}
        </TableRow>
      </TableHead>
      <TableBody>
        {consents.map((consent) => {
          const scope = scopeText(consent.scope);
          return (
            <TableRow key={consent.id} data-state={consent.state}>
              <TableCell>{shortId(canRevoke ? consent.grantee_id : consent.patient_id)}</TableCell>
              <TableCell>{scope}</TableCell>
              <TableCell>{consent.purposes.map((p) => tv("purpose", p)).join("、")}</TableCell>
              <TableCell>{consent.expires_at ? formatTime(consent.expires_at) : t("consents.noExpiry")}</TableCell>
              <TableCell>
                <Chip
                  size="small"
                  color={consent.state === "active" ? "success" : "default"}
                  label={tv("consentState", consent.state)}
                />
              </TableCell>
              {canRevoke && (
                <TableCell>{consent.state === "active" && <RevokeButton consent={consent} label={scope} />}</TableCell>
              )}
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}

export function ConsentsPage() {
  const { t } = useI18n();
  const consents = useQuery({
    queryKey: ["consents"],
    queryFn: () => api<{ consents: Consent[] }>("/api/v1/consents"),
  });
  return (
    <>
      <PageTitle>{t("consents.title")}</PageTitle>
      <Section title={t("consents.grant")}>
        <GrantConsentForm />
      </Section>
      <Section title={t("consents.list")}>
        {consents.isPending && <Loading />}
        <ErrorAlert error={consents.error} />
        {consents.data && <ConsentTable consents={consents.data.consents} canRevoke />}
      </Section>
    </>
  );
}
