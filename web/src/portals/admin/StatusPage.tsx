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

interface ChainStatus {
  mode: string;
  ledger_tree_size: number;
  anchored_tree_size: number;
  last_anchored_at: string | null;
  mirror_backlog: number;
}

interface SystemStatus {
  database: boolean;
  storage: boolean;
  ledger_tree_size: number;
  ledger_root: string | null;
  chain: ChainStatus | null;
}

/**
 * What the server reports about itself: /healthz (process), /api/v1/admin/status (database,
 * object storage, chain anchoring, probed on each request) and the ledger's signed tree head.
 */
export function StatusPage() {
  const { t, formatTime } = useI18n();
  const status = useQuery({ queryKey: ["admin-status"], queryFn: () => api<SystemStatus>("/api/v1/admin/status") });
  const live = useQuery({ queryKey: ["healthz"], queryFn: () => api<{ status: string }>("/healthz"), refetchInterval: 30_000 });
  const head = useQuery({
    queryKey: ["ledger-head"],
    queryFn: () => api<{ tree_head: TreeHead; public_key: string }>("/api/v1/ledger/head"),
  });
  const chainText = (data: SystemStatus | undefined) => {
    if (!data) return "…";
    const chain = data.chain;
    if (!chain) return t("admin.chainOff");
    return t("admin.chainProgress", {
      mode: chain.mode,
      anchored: chain.anchored_tree_size,
      size: chain.ledger_tree_size,
      last: chain.last_anchored_at ? formatTime(chain.last_anchored_at) : "—",
      backlog: chain.mirror_backlog,
    });
  };
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
              <TableCell>{state(status.data?.database ?? (status.isError ? false : undefined))}</TableCell>
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
              <TableCell>{state(status.data?.storage ?? (status.isError ? false : undefined))}</TableCell>
            </TableRow>
            <TableRow>
              <TableCell component="th" scope="row">{t("admin.chain")}</TableCell>
              <TableCell data-testid="chain-status">{chainText(status.data)}</TableCell>
            </TableRow>
          </TableBody>
        </Table>
        <ErrorAlert error={head.error ?? status.error} />
      </Section>
    </>
  );
}
