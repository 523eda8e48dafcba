import { useQuery } from "@tanstack/react-query";
import { Link as RouterLink } from "react-router";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Grid from "@mui/material/Grid";
import List from "@mui/material/List";
import ListItem from "@mui/material/ListItem";
import ListItemText from "@mui/material/ListItemText";
import Typography from "@mui/material/Typography";
import { api } from "../../api";
import type { RecordView } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { PageTitle, Section, visuallyHidden } from "../../components/Page";
import { RecordTable } from "../../components/RecordTable";

export function RecordsPage() {
  const { t, tv, formatTime, lang } = useI18n();
  const records = useQuery({
    queryKey: ["records"],
    queryFn: () => api<{ records: RecordView[] }>("/api/v1/records", { query: { limit: 200 } }),
  });
  const dayFormat = new Intl.DateTimeFormat(lang, { dateStyle: "long" });
  const byDay = new Map<string, RecordView[]>();
  for (const record of records.data?.records ?? []) {
    const day = dayFormat.format(new Date(record.created_at));
    byDay.set(day, [...(byDay.get(day) ?? []), record]);
  }
  return (
    <>
      <PageTitle
        action={
          <Button variant="contained" component={RouterLink} to="/patient/upload">
            {t("nav.upload")}
          </Button>
        }
      >
        {t("records.title")}
      </PageTitle>
      {records.isPending && <Loading />}
      <ErrorAlert error={records.error} />
      {records.data && (
        <Grid container spacing={3}>
          <Grid size={{ xs: 12, md: 8 }}>
            <Section title={t("records.list")}>
              <RecordTable
                records={records.data.records}
                action={(record) => (
                  <Button component={RouterLink} to={`/patient/records/${record.id}`} size="small">
                    {t("common.view")}
                    <Box component="span" sx={visuallyHidden}>
                      {" "}
                      {tv("category", record.category)} {formatTime(record.created_at)}
                    </Box>
                  </Button>
                )}
              />
            </Section>
          </Grid>
          <Grid size={{ xs: 12, md: 4 }}>
            <Section title={t("records.timeline")}>
              {[...byDay.entries()].map(([day, items]) => (
                <Box key={day} sx={{ borderLeft: 3, borderColor: "primary.main", pl: 2, mb: 2 }}>
                  <Typography variant="h3" component="h3">
                    {day}
                  </Typography>
                  <List dense disablePadding>
                    {items.map((record) => (
                      <ListItem key={record.id} disableGutters>
                        <ListItemText
                          primary={tv("category", record.category)}
                          secondary={formatTime(record.created_at)}
                        />
                      </ListItem>
                    ))}
                  </List>
                </Box>
              ))}
            </Section>
          </Grid>
        </Grid>
      )}
    </>
  );
}

