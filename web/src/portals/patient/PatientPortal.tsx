import { Route, Routes } from "react-router";
import { RecordsPage } from "./RecordsPage";
import { RecordPage } from "./RecordPage";
import { UploadPage } from "./UploadPage";
import { ConsentsPage } from "./ConsentsPage";
import { RequestsPage } from "./RequestsPage";
import { AuditPage } from "../../components/AuditPage";
import { NotificationsPage } from "./NotificationsPage";
import { ResearchSettingsPage } from "./ResearchSettingsPage";

export default function PatientPortal() {
  return (
    <Routes>
      <Route index element={<RecordsPage />} />
      <Route path="records/:id" element={<RecordPage />} />
      <Route path="upload" element={<UploadPage />} />
      <Route path="consents" element={<ConsentsPage />} />
      <Route path="requests" element={<RequestsPage />} />
      <Route path="audit" element={<AuditPage />} />
      <Route path="notifications" element={<NotificationsPage />} />
      <Route path="research" element={<ResearchSettingsPage />} />
    </Routes>
  );
}
