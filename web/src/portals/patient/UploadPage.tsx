import { Controller, useForm } from "react-hook-form";
import { useNavigate } from "react-router";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import Button from "@mui/material/Button";
import FormControlLabel from "@mui/material/FormControlLabel";
import FormLabel from "@mui/material/FormLabel";
import MenuItem from "@mui/material/MenuItem";
import Radio from "@mui/material/Radio";
import RadioGroup from "@mui/material/RadioGroup";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { api } from "../../api";
import type { RecordView } from "../../types";
import { CATEGORIES } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert } from "../../components/Feedback";
import { PageTitle, Section } from "../../components/Page";

type Kind = "note" | "file" | "fhir";

interface UploadForm {
  kind: Kind;
  category: string;
  text: string;
  file: FileList | null;
}

/** What a form becomes on the wire: the body and its media type. */
function payload(form: UploadForm): { body: BodyInit; contentType: string; category: string } {
  if (form.kind === "note") return { body: form.text, contentType: "text/plain", category: form.category };
  if (form.kind === "fhir")
    return { body: form.text, contentType: "application/fhir+json", category: "fhir-resource" };
  const file = form.file?.[0] as File;
  return { body: file, contentType: file.type || "application/octet-stream", category: form.category };
}

/** Upload for patients; doctors reuse it with `patient` and a purpose. */
export function UploadForm({
  patient,
  purpose,
  onDone,
  notesOnly,
}: {
  patient?: string;
  purpose?: string;
  onDone: (record: RecordView) => void;
  notesOnly?: boolean;
}) {
  const { t, tv } = useI18n();
  const queryClient = useQueryClient();
  const {
    control,
    register,
    handleSubmit,
    watch,
    formState: { errors },
  } = useForm<UploadForm>({ defaultValues: { kind: "note", category: "clinical-note", text: "", file: null } });
  const kind = watch("kind");
  const upload = useMutation({
    mutationFn: (form: UploadForm) => {
      const { body, contentType, category } = payload(form);
      return api<RecordView>("/api/v1/records", {
        method: "POST",
        body,
        contentType,
        query: { category, patient, purpose },
      });
    },
    onSuccess: (record) => {
      queryClient.invalidateQueries({ queryKey: ["records"] });
      onDone(record);
    },
  });
  const validateFhir = (text: string) => {
    try {
      const resource = JSON.parse(text) as { resourceType?: unknown };
      return typeof resource.resourceType === "string" || t("validation.fhirResourceType");
    } catch {
      return t("validation.json");
    }
  };
  return (
    <Stack component="form" noValidate spacing={2} onSubmit={handleSubmit((form) => upload.mutate(form))}>
      {!notesOnly && (
        <Controller
          name="kind"
          control={control}
          render={({ field }) => (
            <div role="radiogroup" aria-labelledby="upload-kind">
              <FormLabel id="upload-kind">{t("upload.kind")}</FormLabel>
              <RadioGroup row {...field}>
                <FormControlLabel value="note" control={<Radio />} label={t("upload.note")} />
                <FormControlLabel value="file" control={<Radio />} label={t("upload.file")} />
                <FormControlLabel value="fhir" control={<Radio />} label={t("upload.fhir")} />
              </RadioGroup>
            </div>
          )}
        />
      )}
      {kind !== "fhir" && !notesOnly && (
        <Controller
          name="category"
          control={control}
          render={({ field }) => (
            <TextField select label={t("records.category")} {...field} sx={{ maxWidth: 320 }}>
              {CATEGORIES.filter((c) => c !== "fhir-resource").map((c) => (
                <MenuItem key={c} value={c}>
                  {tv("category", c)}
                </MenuItem>
              ))}
            </TextField>
          )}
        />
      )}
      {kind === "file" ? (
        <div>
          <FormLabel htmlFor="upload-file">{t("upload.chooseFile")}</FormLabel>
          <input
            id="upload-file"
            type="file"
            aria-invalid={!!errors.file}
            aria-describedby="upload-file-error"
            {...register("file", { validate: (files) => (files?.length ?? 0) > 0 || t("validation.fileRequired") })}
          />
          {errors.file && (
            <Typography id="upload-file-error" color="error" role="alert">
              {errors.file.message}
            </Typography>
          )}
        </div>
      ) : (
        <TextField
          label={kind === "fhir" ? t("upload.fhirJson") : t("upload.noteText")}
          multiline
          minRows={8}
          error={!!errors.text}
          helperText={errors.text?.message}
          {...register("text", {
            required: t("validation.textRequired"),
            validate: kind === "fhir" ? validateFhir : undefined,
          })}
        />
      )}
      <ErrorAlert error={upload.error} />
      <div>
        <Button type="submit" variant="contained" disabled={upload.isPending}>
          {t("upload.submit")}
        </Button>
      </div>
    </Stack>
  );
}

export function UploadPage() {
  const { t } = useI18n();
  const navigate = useNavigate();
  return (
    <>
      <PageTitle>{t("upload.title")}</PageTitle>
      <Section title={t("upload.title")}>
        <UploadForm
          onDone={(record) => navigate(`/patient/records/${record.id}`)}
        />
      </Section>
    </>
  );
}
