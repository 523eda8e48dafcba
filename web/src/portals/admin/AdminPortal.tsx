import { Route, Routes } from "react-router";
import { ApprovalsPage, UsersPage } from "./UsersPages";
import { StatusPage } from "./StatusPage";
import { AuditPage } from "../../components/AuditPage";

export default function AdminPortal() {
  return (
    <Routes>
      <Route index element={<ApprovalsPage />} />
      <Route path="users" element={<UsersPage />} />
      <Route path="status" element={<StatusPage />} />
      <Route path="audit" element={<AuditPage searchable />} />
    </Routes>
  );
}
