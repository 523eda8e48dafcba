// Shapes of the API's answers (see the OpenAPI document at /api/v1/openapi.json).

export const CATEGORIES = [
  "clinical-note",
  "lab-report",
  "imaging-report",
  "prescription",
  "discharge-summary",
  "vital-signs",
  "fhir-resource",
  "document",
] as const;
export type Category = (typeof CATEGORIES)[number];

export const PURPOSES = ["treatment", "care-coordination", "emergency", "research"] as const;
export type Purpose = (typeof PURPOSES)[number];

export type Scope =
  | { kind: "all" }
  | { kind: "categories"; categories: Category[] }
  | { kind: "records"; records: string[] };

export interface RecordView {
  id: string;
  patient_id: string;
  category: Category;
  current_version: number;
  created_by: string;
  created_at: string;
  updated_at: string;
  erased_at: string | null;
  legal_basis: string | null;
  legal_hold: boolean;
}

export interface VersionView {
  version: number;
  content_type: string;
  size_bytes: number;
  leaf_index: number;
  created_at: string;
}

export interface RecordDetails {
  record: RecordView;
  versions: VersionView[];
}

export interface Consent {
  id: string;
  patient_id: string;
  grantee_id: string;
  scope: Scope;
  purposes: Purpose[];
  allow_write: boolean;
  state: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface AccessRequest {
  id: string;
  doctor_id: string;
  patient_id: string;
  scope: Scope;
  purpose: Purpose;
  reason: string;
  status: string;
  consent_id: string | null;
  created_at: string;
}

export interface AuditEvent {
  leaf_index: number;
  at: string;
  kind: string;
  outcome: string;
  actor_id: string | null;
  actor_username: string | null;
  record_id: string | null;
  entry: unknown;
}

export interface NotificationView {
  id: string;
  kind: string;
  payload: Record<string, unknown>;
  created_at: string;
}

export interface Entity {
  start: number;
  end: number;
  text: string;
  type: string;
  negated: boolean;
  uncertain: boolean;
  historical: boolean;
  family: boolean;
  icd10: string | null;
}

export interface RecordAnalysis {
  record_id: string;
  version: number;
  analyzed_at: string;
  analysis: { entities: Entity[] };
}

export interface Alert {
  id: string;
  patient_id: string;
  rule: string;
  severity: string;
  band: string | null;
  total: number | null;
  explanation: unknown;
  raised_at: string;
  resolved_at: string | null;
}

export interface ScoreComponent {
  name?: string;
  points?: number;
  value?: unknown;
  [key: string]: unknown;
}

export interface ScoreResult {
  score?: string;
  name?: string;
  total: number | null;
  band?: string | null;
  components?: ScoreComponent[];
  missing?: string[];
  [key: string]: unknown;
}

export interface PatientRisk {
  scores: ScoreResult[];
  not_computed: { score: string; missing: string[] }[];
}

export interface TreeHead {
  tree_size: number;
  root: string;
  timestamp_ms: number;
  signature: string;
}

// Research (docs/research-privacy.md): purposes and categories a patient opts in to, per pair.
export const RESEARCH_PURPOSES = ["academic", "public-health", "commercial"] as const;
export type ResearchPurpose = (typeof RESEARCH_PURPOSES)[number];
export const DATA_CATEGORIES = ["demographics", "diagnoses", "observations", "notes"] as const;
export type DataCategory = (typeof DATA_CATEGORIES)[number];
export const SEXES = ["female", "male", "other", "unknown"] as const;

export interface ProfileView {
  sex: string;
  birth_date: string;
  region: string;
  name: string | null;
}

export interface ResearchConsentView {
  purpose: ResearchPurpose;
  category: DataCategory;
  opted_in: boolean;
  changed_at: string;
}

export interface ParticipationView {
  export_id: string;
  project_id: string;
  project_title: string;
  researcher_did: string;
  sha256: string | null;
  exported_at: string | null;
}

export interface ResearchProject {
  id: string;
  researcher_id: string;
  title: string;
  purpose: ResearchPurpose;
  description: string;
  ethics_approval: string;
  categories: DataCategory[];
  period_start: string;
  period_end: string;
  status: "pending" | "approved" | "rejected";
  decision_reason: string | null;
  queries_used: number;
  created_at: string;
}

export interface CohortCount {
  count: number | null;
  display: string;
  queries_left: number;
}

export interface ResearchExport {
  id: string;
  project_id: string;
  format: string;
  k: number;
  status: "pending" | "running" | "done" | "failed";
  size_bytes: number | null;
  sha256: string | null;
  report: unknown;
  error: string | null;
  created_at: string;
  finished_at: string | null;
  download: string | null;
}
