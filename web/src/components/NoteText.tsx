import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import type { Entity } from "../types";
import { useI18n } from "../i18n";

// Background colours for entity types; all keep black text above 7:1 contrast.
const COLOURS: Record<string, string> = {
  dis: "#ffd6d6",
  sym: "#ffe8b3",
  dru: "#d4f0d4",
  pro: "#d6e6ff",
  ite: "#e8dcff",
  bod: "#e6e6e6",
  equ: "#d9f2f2",
  mic: "#f2d9ec",
  dep: "#eeeeee",
};

/** A note's text with the NLP entities highlighted, and the coded problems listed below it. */
export function NoteText({ text, entities }: { text: string; entities: Entity[] }) {
  const { t, tv } = useI18n();
  const chars = Array.from(text);
  const spans: React.ReactNode[] = [];
  let position = 0;
  const sorted = [...entities].sort((a, b) => a.start - b.start);
  for (const entity of sorted) {
    if (entity.start < position || entity.end > chars.length) continue;
    if (entity.start > position) spans.push(chars.slice(position, entity.start).join(""));
    const qualifiers = [
      entity.negated && t("nlp.negated"),
      entity.uncertain && t("nlp.uncertain"),
      entity.historical && t("nlp.historical"),
      entity.family && t("nlp.family"),
    ].filter(Boolean);
    const label = [tv("entity", entity.type), entity.icd10, ...qualifiers].filter(Boolean).join(" · ");
    spans.push(
      <Box
        component="mark"
        key={`${entity.start}-${entity.end}`}
        title={label}
        aria-label={`${entity.text} (${label})`}
        data-entity={entity.type}
        sx={{
          bgcolor: COLOURS[entity.type] ?? "#eeeeee",
          color: "#000",
          px: 0.25,
          borderRadius: 0.5,
          textDecoration: entity.negated ? "line-through" : "none",
        }}
      >
        {chars.slice(entity.start, entity.end).join("")}
      </Box>,
    );
    position = entity.end;
  }
  if (position < chars.length) spans.push(chars.slice(position).join(""));
  const coded = sorted.filter((e) => e.icd10 && !e.negated);
  return (
    <>
      <Typography
        component="div"
        data-testid="record-text"
        sx={{ whiteSpace: "pre-wrap", lineHeight: 2, fontSize: "1rem" }}
      >
        {spans}
      </Typography>
      {coded.length > 0 && (
        <Box sx={{ mt: 2 }}>
          <Typography variant="h3" component="h3" sx={{ mb: 1 }}>
            {t("nlp.codes")}
          </Typography>
          <Stack direction="row" spacing={1} useFlexGap flexWrap="wrap">
            {coded.map((e) => (
              <Chip key={`${e.start}-${e.icd10}`} label={`${e.text} · ICD-10 ${e.icd10}`} />
            ))}
          </Stack>
        </Box>
      )}
    </>
  );
}
