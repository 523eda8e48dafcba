import { createTheme } from "@mui/material/styles";

// People who ask their system for less motion get no transitions at all.
const reducedMotion =
  typeof window !== "undefined" && window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;

// Colours chosen for at least 4.5:1 contrast against white (WCAG AA for body text).
export const theme = createTheme({
  ...(reducedMotion ? { transitions: { create: () => "none" } } : {}),
  palette: {
    primary: { main: "#0b5cad" },
    secondary: { main: "#6a1b9a" },
    error: { main: "#b3261e" },
    success: { main: "#1b6e20" },
    warning: { main: "#8a4b00" },
    background: { default: "#f5f7fa" },
  },
  typography: {
    fontFamily:
      '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", system-ui, sans-serif',
    h1: { fontSize: "1.75rem", fontWeight: 600 },
    h2: { fontSize: "1.3rem", fontWeight: 600 },
    h3: { fontSize: "1.1rem", fontWeight: 600 },
  },
});
