import { useState } from "react";
import { useForm } from "react-hook-form";
import { Navigate, useNavigate } from "react-router";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Paper from "@mui/material/Paper";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useAuth } from "./auth";
import { useI18n } from "./i18n";
import { ErrorAlert } from "./components/Feedback";
import { LanguageSwitch } from "./components/LanguageSwitch";
import { HOME } from "./App";

interface LoginForm {
  username: string;
  password: string;
}

export function LoginPage() {
  const { t } = useI18n();
  const { user, login } = useAuth();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const {
    register,
    handleSubmit,
    formState: { errors, isSubmitting },
  } = useForm<LoginForm>({ defaultValues: { username: "", password: "" } });

  if (user) return <Navigate to={HOME[user.role]} replace />;

  const onSubmit = handleSubmit(async ({ username, password }) => {
    setError(null);
    try {
      const account = await login(username.trim(), password);
      navigate(HOME[account.role]);
    } catch (err) {
      setError(err);
    }
  });

  return (
    <Box component="main" id="main" sx={{ minHeight: "100vh", display: "grid", placeItems: "center", p: 2 }}>
      <Paper sx={{ p: 4, width: "100%", maxWidth: 420 }} elevation={2}>
        <Box sx={{ display: "flex", justifyContent: "space-between", alignItems: "center", mb: 2 }}>
          <Typography variant="h1">{t("app.name")}</Typography>
          <LanguageSwitch />
        </Box>
        <Typography variant="body1" sx={{ mb: 2 }}>
          {t("login.subtitle")}
        </Typography>
        <Box component="form" noValidate onSubmit={onSubmit} aria-label={t("login.title")}>
          <Typography variant="h2" sx={{ mb: 2 }}>
            {t("login.title")}
          </Typography>
          <TextField
            label={t("login.username")}
            autoComplete="username"
            fullWidth
            margin="normal"
            error={!!errors.username}
            helperText={errors.username?.message}
            {...register("username", { required: t("validation.usernameRequired") })}
          />
          <TextField
            label={t("login.password")}
            type="password"
            autoComplete="current-password"
            fullWidth
            margin="normal"
            error={!!errors.password}
            helperText={errors.password?.message}
            {...register("password", { required: t("validation.passwordRequired") })}
          />
          <ErrorAlert error={error} />
          <Button type="submit" variant="contained" fullWidth sx={{ mt: 2 }} disabled={isSubmitting}>
            {t("login.submit")}
          </Button>
        </Box>
      </Paper>
    </Box>
  );
}
