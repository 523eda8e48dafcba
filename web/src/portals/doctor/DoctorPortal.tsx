import { Route, Routes } from "react-router";
import { MyPatientsPage } from "./MyPatientsPage";
import { RequestAccessPage } from "./RequestAccessPage";
import { AlertsPage } from "./AlertsPage";
import { PatientChart } from "./PatientChart";

export default function DoctorPortal() {
  return (
    <Routes>
      <Route index element={<MyPatientsPage />} />
      <Route path="requests" element={<RequestAccessPage />} />
      <Route path="alerts" element={<AlertsPage />} />
      <Route path="patients/:id" element={<PatientChart />} />
    </Routes>
  );
}
