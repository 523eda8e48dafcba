import { useQuery } from "@tanstack/react-query";
import Box from "@mui/material/Box";
import { api, request } from "../api";
import type { RecordAnalysis } from "../types";
import { ErrorAlert, isNotFound, Loading } from "./Feedback";
import { NoteText } from "./NoteText";
import { useI18n } from "../i18n";

interface Content {
  contentType: string;
  text: string | null;
  url: string | null;
  analysis: RecordAnalysis | null;
}

async function loadContent(id: string, purpose?: string): Promise<Content> {
  const response = await request(`/api/v1/records/${id}/content`, { query: { purpose } });
  const contentType = response.headers.get("content-type") ?? "application/octet-stream";
  const textual = /^(text\/|application\/(fhir\+)?json)/.test(contentType);
  if (!textual) {
    const blob = await response.blob();
    return { contentType, text: null, url: URL.createObjectURL(blob), analysis: null };
  }
  let text = await response.text();
  if (contentType.includes("json")) {
    try {
      text = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Shown as stored.
    }
  }
  let analysis: RecordAnalysis | null = null;
  if (contentType.startsWith("text/plain")) {
    analysis = await api<RecordAnalysis>(`/api/v1/records/${id}/nlp`, { query: { purpose } }).catch(
      (error) => {
        if (isNotFound(error)) return null;
        throw error;
      },
    );
  }
  return { contentType, text, url: null, analysis };
}

/**
 * A record's content, read afresh each time it is shown (every read is a decision on the
 * server: a revoked consent must show as refused, not as a cached copy).
 */
export function RecordContent({
  id,
  purpose,
  nonce = 0,
  onError,
}: {
  id: string;
  purpose?: string;
  /** Changes on every "read" click, so each click is a new read. */
  nonce?: number;
  /** Extra controls under an error (e.g. break-glass when consent is missing). */
  onError?: (error: unknown) => React.ReactNode;
}) {
  const { t } = useI18n();
  const query = useQuery({
    queryKey: ["record-content", id, purpose, nonce],
    queryFn: () => loadContent(id, purpose),
    gcTime: 0,
    staleTime: 0,
  });
  if (query.isPending) return <Loading />;
  if (query.isError)
    return (
      <>
        <ErrorAlert error={query.error} />
        {onError?.(query.error)}
      </>
    );
  const content = query.data;
  if (content.url) {
    return (
      <a href={content.url} download>
        {t("record.download")} ({content.contentType})
      </a>
    );
  }
  if (content.analysis) {
    return <NoteText text={content.text ?? ""} entities={content.analysis.analysis.entities ?? []} />;
  }
  return (
    <Box
      component="pre"
      data-testid="record-text"
      sx={{ whiteSpace: "pre-wrap", fontFamily: content.contentType.includes("json") ? "monospace" : "inherit", m: 0 }}
    >
      {content.text}
    </Box>
  );
}
