import { useQuery } from "@tanstack/react-query";
import Chip from "@mui/material/Chip";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableRow from "@mui/material/TableRow";
import { api } from "../../api";
import type { TreeHead } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert } from "../../components/Feedback";
import { PageTitle, Section } from "../../components/Page";

/**
 * What the server reports about itself: /readyz (database), /healthz (process) and the
 * ledger's signed tree head. Storage and chain anchoring have no status endpoint yet.
 */
export function StatusPage() {
  const { t, formatTime } = useI18n();
  const ready = useQuery({ queryKey: ["readyz"], queryFn: () => api<{ status: string }>("/readyz"), refetchInterval: 30_000 });
  const live = useQuery({ queryKey: ["healthz"], queryFn: () => api<{ status: string }>("/healthz"), refetchInterval: 30_000 });
  const head = useQuery({
    queryKey: ["ledger-head"],
    queryFn: () => api<{ tree_head: TreeHead; public_key: string }>("/api/v1/ledger/head"),
  });
  const state = (ok: boolean | undefined) =>
    ok === undefined ? (
      <Chip size="small" label="…" />
    ) : (
      <Chip size="small" color={ok ? "success" : "error"} label={ok ? t("admin.ok") : t("admin.down")} />
    );
  return (
    <>
      <PageTitle>{t("nav.status")}</PageTitle>
      <Section title={t("admin.components")}>
        <Table size="small" aria-label={t("admin.components")}>
          <TableBody>
            <TableRow>
              <TableCell component="th" scope="row">{t("admin.process")}</TableCell>
              <TableCell>{state(live.isPending ? undefined : live.isSuccess)}</TableCell>
            </TableRow>
            <TableRow>
              <TableCell component="th" scope="row">{t("admin.database")}</TableCell>
              <TableCell>{state(ready.isPending ? undefined : ready.isSuccess)}</TableCell>
            </TableRow>
            <TableRow>
              <TableCell component="th" scope="row">{t("admin.ledgerSize")}</TableCell>
              <TableCell data-testid="ledger-size">{head.data?.tree_head.tree_size ?? "…"}</TableCell>
            </TableRow>
            <TableRow>
              <TableCell component="th" scope="row">{t("admin.ledgerRoot")}</TableCell>
              <TableCell sx={{ fontFamily: "monospace", wordBreak: "break-all" }}>{head.data?.tree_head.root ?? "…"}</TableCell>
            </TableRow>
            <TableRow>
              <TableCell component="th" scope="row">{t("admin.ledgerSigned")}</TableCell>
              <TableCell>{head.data ? formatTime(head.data.tree_head.timestamp_ms) : "…"}</TableCell>
            </TableRow>
            <TableRow>
              <TableCell component="th" scope="row">{t("admin.storage")}</TableCell>
              <TableCell>{t("admin.notReported")}</TableCell>
            </TableRow>
            <TableRow>
              <TableCell component="th" scope="row">{t("admin.chain")}</TableCell>
              <TableCell>{t("admin.notReported")}</TableCell>
            </TableRow>
          </TableBody>
        </Table>
        <ErrorAlert error={head.error} />
      </Section>
    </>
  );
}
