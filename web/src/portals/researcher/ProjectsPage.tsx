import { Controller, useForm } from "react-hook-form";
import { Link as RouterLink } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Checkbox from "@mui/material/Checkbox";
import Chip from "@mui/material/Chip";
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
import type { DataCategory, ResearchProject, ResearchPurpose } from "../../types";
import { DATA_CATEGORIES, RESEARCH_PURPOSES } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { PageTitle, Section, visuallyHidden } from "../../components/Page";

export function ProjectStatus({ status }: { status: ResearchProject["status"] }) {
  const { tv } = useI18n();
  const colour = status === "approved" ? "success" : status === "rejected" ? "error" : "default";
  return <Chip size="small" color={colour} label={tv("projectStatus", status)} data-status={status} />;
}

function ProjectList() {
  const { t, tv, formatTime } = useI18n();
  const projects = useQuery({
    queryKey: ["research-projects"],
    queryFn: () => api<ResearchProject[]>("/api/v1/research/projects"),
  });
  if (projects.isPending) return <Loading />;
  if (projects.isError) return <ErrorAlert error={projects.error} />;
  if (projects.data.length === 0) return <Typography>{t("research.noProjects")}</Typography>;
  return (
    <Table size="small" aria-label={t("research.projects")}>
      <TableHead>
        <TableRow>
          <TableCell>{t("research.title")}</TableCell>
          <TableCell>{t("research.purpose")}</TableCell>
          <TableCell>{t("consents.state")}</TableCell>
          <TableCell>{t("research.created")}</TableCell>
          <TableCell>{t("common.actions")}</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {projects.data.map((project) => (
          <TableRow key={project.id} data-project={project.title}>
            <TableCell>{project.title}</TableCell>
            <TableCell>{tv("researchPurpose", project.purpose)}</TableCell>
            <TableCell>
              <ProjectStatus status={project.status} />
              {project.decision_reason && (
                <Typography variant="body2" component="span" sx={{ ml: 1 }}>
                  {project.decision_reason}
                </Typography>
              )}
            </TableCell>
            <TableCell>{formatTime(project.created_at)}</TableCell>
            <TableCell>
              <Button size="small" component={RouterLink} to={`projects/${project.id}`}>
                {t("common.view")}
                <Box component="span" sx={visuallyHidden}>
                  {" "}
                  {project.title}
                </Box>
              </Button>
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

interface ProjectForm {
  title: string;
  purpose: ResearchPurpose;
  description: string;
  ethics_approval: string;
  categories: DataCategory[];
  period_start: string;
  period_end: string;
}

function ProposeProjectForm() {
  const { t, tv } = useI18n();
  const queryClient = useQueryClient();
  const {
    control,
    register,
    handleSubmit,
    reset,
    getValues,
    formState: { errors },
  } = useForm<ProjectForm>({
    defaultValues: {
      title: "",
      purpose: "academic",
      description: "",
      ethics_approval: "",
      categories: ["demographics", "diagnoses"],
      period_start: "",
      period_end: "",
    },
  });
  const propose = useMutation({
    mutationFn: (form: ProjectForm) =>
      api<ResearchProject>("/api/v1/research/projects", {
        method: "POST",
        json: { ...form, title: form.title.trim(), ethics_approval: form.ethics_approval.trim() },
      }),
    onSuccess: () => {
      queryClient.invalidateQueries({ queryKey: ["research-projects"] });
      reset();
    },
  });
  return (
    <Stack
      component="form"
      noValidate
      spacing={2}
      aria-label={t("research.propose")}
      onSubmit={handleSubmit((form) => propose.mutate(form))}
    >
      <TextField
        label={t("research.title")}
        error={!!errors.title}
        helperText={errors.title?.message}
        sx={{ maxWidth: 480 }}
        {...register("title", { validate: (v) => v.trim() !== "" || t("validation.titleRequired") })}
      />
      <Controller
        name="purpose"
        control={control}
        render={({ field }) => (
          <TextField select label={t("research.purpose")} {...field} sx={{ maxWidth: 360 }}>
            {RESEARCH_PURPOSES.map((p) => (
              <MenuItem key={p} value={p}>
                {tv("researchPurpose", p)}
              </MenuItem>
            ))}
          </TextField>
        )}
      />
      <TextField
        label={t("research.description")}
        multiline
        minRows={2}
        error={!!errors.description}
        helperText={errors.description?.message}
        sx={{ maxWidth: 640 }}
        {...register("description", { validate: (v) => v.trim() !== "" || t("validation.descriptionRequired") })}
      />
      <TextField
        label={t("research.ethics")}
        error={!!errors.ethics_approval}
        helperText={errors.ethics_approval?.message ?? t("research.ethicsHelp")}
        sx={{ maxWidth: 360 }}
        {...register("ethics_approval", { validate: (v) => v.trim() !== "" || t("validation.ethicsRequired") })}
      />
      <Controller
        name="categories"
        control={control}
        rules={{ validate: (v) => v.length > 0 || t("validation.categoryRequired") }}
        render={({ field }) => (
          <FormControl error={!!errors.categories} component="fieldset">
            <FormLabel component="legend">{t("research.categories")}</FormLabel>
            <FormGroup row>
              {DATA_CATEGORIES.map((c) => (
                <FormControlLabel
                  key={c}
                  label={tv("dataCategory", c)}
                  control={
                    <Checkbox
                      checked={field.value.includes(c)}
                      onChange={(e) =>
                        field.onChange(e.target.checked ? [...field.value, c] : field.value.filter((x) => x !== c))
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
      <Stack direction="row" spacing={2}>
        <TextField
          type="date"
          label={t("research.periodStart")}
          slotProps={{ inputLabel: { shrink: true } }}
          error={!!errors.period_start}
          helperText={errors.period_start?.message}
          {...register("period_start", { required: t("validation.dateRequired") })}
        />
        <TextField
          type="date"
          label={t("research.periodEnd")}
          slotProps={{ inputLabel: { shrink: true } }}
          error={!!errors.period_end}
          helperText={errors.period_end?.message}
          {...register("period_end", {
            required: t("validation.dateRequired"),
            validate: (v) => v >= getValues("period_start") || t("validation.periodOrder"),
          })}
        />
      </Stack>
      <ErrorAlert error={propose.error} />
      <Box>
        <Button type="submit" variant="contained" disabled={propose.isPending}>
          {t("research.submitProject")}
        </Button>
      </Box>
    </Stack>
  );
}

export function ProjectsPage() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t("research.projects")}</PageTitle>
      <Section title={t("research.myProjects")}>
        <ProjectList />
      </Section>
      <Section title={t("research.propose")}>
        <ProposeProjectForm />
      </Section>
    </>
  );
}
