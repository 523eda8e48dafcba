import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import type { ReactNode } from "react";
import type { RecordView } from "../types";
import { useI18n } from "../i18n";

export function RecordTable({
  records,
  action,
}: {
  records: RecordView[];
  action: (record: RecordView) => ReactNode;
}) {
  const { t, tv, formatTime } = useI18n();
  if (records.length === 0) return <Typography>{t("records.none")}</Typography>;
  return (
    <Table size="small" aria-label={t("records.title")}>
      <TableHead>
        <TableRow>
          <TableCell>{t("records.category")}</TableCell>
          <TableCell>{t("records.created")}</TableCell>
          <TableCell>{t("records.version")}</TableCell>
          <TableCell>{t("common.actions")}</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {records.map((record) => (
          <TableRow key={record.id} data-category={record.category}>
            <TableCell>
              {tv("category", record.category)}
              {record.erased_at && ` (${t("records.erased")})`}
            </TableCell>
            <TableCell>{formatTime(record.created_at)}</TableCell>
            <TableCell>{record.current_version}</TableCell>
            <TableCell>{action(record)}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
