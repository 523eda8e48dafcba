import { Route, Routes } from "react-router";
import { ProjectsPage } from "./ProjectsPage";
import { ProjectPage } from "./ProjectPage";

export default function ResearcherPortal() {
  return (
    <Routes>
      <Route index element={<ProjectsPage />} />
      <Route path="projects/:id" element={<ProjectPage />} />
    </Routes>
  );
}
