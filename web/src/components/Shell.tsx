import AppBar from "@mui/material/AppBar";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Container from "@mui/material/Container";
import Link from "@mui/material/Link";
import Toolbar from "@mui/material/Toolbar";
import Typography from "@mui/material/Typography";
import { NavLink, useNavigate } from "react-router";
import type { ReactNode } from "react";
import type { Role } from "../api";
import { useAuth } from "../auth";
import { useI18n } from "../i18n";
import type { MessageKey } from "../i18n";
import { LanguageSwitch } from "./LanguageSwitch";

const NAV: Record<Role, [string, MessageKey][]> = {
  patient: [
    ["/patient", "nav.records"],
    ["/patient/upload", "nav.upload"],
    ["/patient/consents", "nav.consents"],
    ["/patient/requests", "nav.requests"],
    ["/patient/audit", "nav.audit"],
    ["/patient/notifications", "nav.notifications"],
    ["/patient/research", "nav.research"],
  ],
  doctor: [
    ["/doctor", "nav.patients"],
    ["/doctor/requests", "nav.requestAccess"],
    ["/doctor/alerts", "nav.alerts"],
  ],
  researcher: [["/researcher", "nav.projects"]],
  admin: [
    ["/admin", "nav.approvals"],
    ["/admin/users", "nav.users"],
    ["/admin/status", "nav.status"],
    ["/admin/audit", "nav.auditSearch"],
  ],
};

export function Shell({ children }: { children: ReactNode }) {
  const { user, logout } = useAuth();
  const { t, tv } = useI18n();
  const navigate = useNavigate();
  if (!user) return null;
  return (
    <>
      <Link
        href="#main"
        sx={{
          position: "absolute",
          left: -9999,
          "&:focus": { left: 8, top: 8, zIndex: 2000, bgcolor: "background.paper", p: 1 },
        }}
      >
        {t("common.skipToContent")}
      </Link>
      <AppBar position="static" component="header">
        <Toolbar sx={{ gap: 2, flexWrap: "wrap" }}>
          <Typography component="p" variant="h6" sx={{ fontWeight: 700 }}>
            {t("app.name")}
          </Typography>
          <Typography component="p" variant="body2">
            {tv("role", user.role)} · {user.username}
          </Typography>
          <Box sx={{ flexGrow: 1 }} />
          <LanguageSwitch color="inherit" />
          <Button
            color="inherit"
            variant="outlined"
            onClick={async () => {
              await logout();
              navigate("/login");
            }}
          >
            {t("common.logout")}
          </Button>
        </Toolbar>
        <Box
          component="nav"
          aria-label={t("nav.label")}
          sx={{ bgcolor: "primary.dark", px: 2, display: "flex", gap: 1, flexWrap: "wrap" }}
        >
          {NAV[user.role].map(([to, key]) => (
            <Button
              key={to}
              component={NavLink}
              to={to}
              end
              sx={{
                color: "#fff",
                borderRadius: 0,
                borderBottom: "3px solid transparent",
                "&.active": { borderBottomColor: "#fff", fontWeight: 700 },
              }}
            >
              {t(key)}
            </Button>
          ))}
        </Box>
      </AppBar>
      <Container component="main" id="main" tabIndex={-1} maxWidth="lg" sx={{ py: 3 }}>
        {children}
      </Container>
    </>
  );
}
