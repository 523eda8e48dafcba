import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import Chip from "@mui/material/Chip";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { api } from "../api";
import type { AuditEvent, TreeHead } from "../types";
import { useI18n } from "../i18n";
import { canonicalJson, leafHash, treeHeadSignatureValid, verifyInclusion } from "../ledger";
import { ErrorAlert, Loading } from "./Feedback";
import { PageTitle, Section } from "./Page";

function VerifiedMark({ event, head, signed }: { event: AuditEvent; head: TreeHead; signed: boolean }) {
  const { t } = useI18n();
  const check = useQuery({
    queryKey: ["inclusion", event.leaf_index, head.tree_size, signed],
    queryFn: async () => {
      const proof = await api<{ path: string[] }>("/api/v1/ledger/proof/inclusion", {
        query: { leaf_index: event.leaf_index, tree_size: head.tree_size },
      });
      const leaf = leafHash(canonicalJson(event.entry));
      return signed && verifyInclusion(event.leaf_index, head.tree_size, leaf, proof.path, head.root);
    },
    staleTime: Infinity,
  });
  if (check.isPending) return <Chip size="small" label={t("audit.checking")} data-verified="pending" />;
  if (check.data)
    return <Chip size="small" color="success" label={`✓ ${t("audit.verified")}`} data-verified="true" />;
  return <Chip size="small" color="error" label={`✗ ${t("audit.notVerified")}`} data-verified="false" />;
}

/**
 * The audit trail the server shows this account (a patient: everything about their data; an
 * admin: everything), each event checked against the ledger in the browser.
 */
export function AuditPage({ searchable }: { searchable?: boolean }) {
  const { t, tv, formatTime } = useI18n();
  const [filter, setFilter] = useState("");
  const events = useQuery({
    queryKey: ["audit"],
    queryFn: () => api<{ events: AuditEvent[] }>("/api/v1/audit", { query: { limit: 200 } }),
  });
  const head = useQuery({
    queryKey: ["ledger-head", events.dataUpdatedAt],
    queryFn: async () => {
      const answer = await api<{ tree_head: TreeHead; public_key: string }>("/api/v1/ledger/head");
      return { ...answer, signed: treeHeadSignatureValid(answer.tree_head, answer.public_key) };
    },
    enabled: events.isSuccess,
  });
  const needle = filter.trim().toLowerCase();
  const shown = (events.data?.events ?? []).filter(
    (e) =>
      !needle ||
      [e.kind, tv("event", e.kind), e.actor_username ?? "", e.outcome, e.record_id ?? ""].some((field) =>
        field.toLowerCase().includes(needle),
      ),
  );
  return (
    <>
      <PageTitle>{searchable ? t("audit.searchTitle") : t("audit.title")}</PageTitle>
      <Section title={t("audit.events")}>
        <Typography variant="body2" sx={{ mb: 2 }}>
          {t("audit.explanation")}
          {head.data && ` ${t("audit.treeSize", { size: head.data.tree_head.tree_size })}`}
        </Typography>
        {searchable && (
          <TextField
            label={t("audit.search")}
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            sx={{ mb: 2, maxWidth: 360 }}
            fullWidth
          />
        )}
        {events.isPending && <Loading />}
        <ErrorAlert error={events.error ?? head.error} />
        {events.data && (
          <Table size="small" aria-label={t("audit.events")}>
            <TableHead>
              <TableRow>
                <TableCell>{t("audit.time")}</TableCell>
                <TableCell>{t("audit.event")}</TableCell>
                <TableCell>{t("audit.actor")}</TableCell>
                <TableCell>{t("audit.outcome")}</TableCell>
                <TableCell>{t("audit.ledger")}</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {shown.map((event) => (
                <TableRow key={event.leaf_index} data-kind={event.kind} data-outcome={event.outcome}>
                  <TableCell>{formatTime(event.at)}</TableCell>
                  <TableCell>{tv("event", event.kind)}</TableCell>
                  <TableCell>{event.actor_username ?? "—"}</TableCell>
                  <TableCell>
                    <Chip
                      size="small"
                      variant="outlined"
                      color={event.outcome === "denied" ? "error" : "default"}
                      label={tv("outcome", event.outcome)}
                    />
                  </TableCell>
                  <TableCell>
                    {head.data ? (
                      <VerifiedMark event={event} head={head.data.tree_head} signed={head.data.signed} />
                    ) : (
                      "…"
                    )}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </Section>
    </>
  );
}
