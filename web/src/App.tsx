import { lazy, Suspense } from "react";
import { Navigate, Route, Routes } from "react-router";
import type { Role } from "./api";
import { useAuth } from "./auth";
import { Shell } from "./components/Shell";
import { Loading } from "./components/Feedback";
import { LoginPage } from "./LoginPage";

// One chunk per portal: a patient never downloads the admin pages.
const PatientPortal = lazy(() => import("./portals/patient/PatientPortal"));
const DoctorPortal = lazy(() => import("./portals/doctor/DoctorPortal"));
const ResearcherPortal = lazy(() => import("./portals/researcher/ResearcherPortal"));
const AdminPortal = lazy(() => import("./portals/admin/AdminPortal"));

export const HOME: Record<Role, string> = {
  patient: "/patient",
  doctor: "/doctor",
  researcher: "/researcher",
  admin: "/admin",
};

function Portal({ role, children }: { role: Role; children: React.ReactNode }) {
  const { user, loading } = useAuth();
  if (loading) return <Loading />;
  if (!user) return <Navigate to="/login" replace />;
  if (user.role !== role) return <Navigate to={HOME[user.role]} replace />;
  return (
    <Shell>
      <Suspense fallback={<Loading />}>{children}</Suspense>
    </Shell>
  );
}

export function App() {
  const { user, loading } = useAuth();
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/patient/*" element={<Portal role="patient"><PatientPortal /></Portal>} />
      <Route path="/doctor/*" element={<Portal role="doctor"><DoctorPortal /></Portal>} />
      <Route path="/researcher/*" element={<Portal role="researcher"><ResearcherPortal /></Portal>} />
      <Route path="/admin/*" element={<Portal role="admin"><AdminPortal /></Portal>} />
      <Route
        path="*"
        element={loading ? <Loading /> : <Navigate to={user ? HOME[user.role] : "/login"} replace />}
      />
    </Routes>
  );
}
