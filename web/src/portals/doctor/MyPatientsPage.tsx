import { useQuery } from "@tanstack/react-query";
import { Link as RouterLink } from "react-router";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { api } from "../../api";
import type { Consent } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { PageTitle, Section, shortId, visuallyHidden } from "../../components/Page";
import { useScopeText } from "../../components/ScopeText";

/** Patients who gave this doctor an active consent, with what each consent covers. */
export function MyPatientsPage() {
  const { t } = useI18n();
  const scopeText = useScopeText();
  const consents = useQuery({
    queryKey: ["consents"],
    queryFn: () => api<{ consents: Consent[] }>("/api/v1/consents"),
  });
  const patients = new Map<string, Consent[]>();
  for (const consent of consents.data?.consents ?? []) {
    if (consent.state !== "active") continue;
    patients.set(consent.patient_id, [...(patients.get(consent.patient_id) ?? []), consent]);
  }
  return (
    <>
      <PageTitle
        action={
          <Button variant="contained" component={RouterLink} to="/doctor/requests">
            {t("nav.requestAccess")}
          </Button>
        }
      >
        {t("doctor.myPatients")}
      </PageTitle>
      <Section title={t("doctor.consentedPatients")}>
        {consents.isPending && <Loading />}
        <ErrorAlert error={consents.error} />
        {consents.data && patients.size === 0 && <Typography>{t("doctor.noPatients")}</Typography>}
        {patients.size > 0 && (
          <Table size="small" aria-label={t("doctor.consentedPatients")}>
            <TableHead>
              <TableRow>
                <TableCell>{t("consents.patient")}</TableCell>
                <TableCell>{t("consents.scope")}</TableCell>
                <TableCell>{t("common.actions")}</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {[...patients.entries()].map(([patient, grants]) => (
                <TableRow key={patient}>
                  <TableCell>{shortId(patient)}</TableCell>
                  <TableCell>{grants.map((g) => scopeText(g.scope)).join("；")}</TableCell>
                  <TableCell>
                    <Button component={RouterLink} to={`/doctor/patients/${patient}`} size="small" variant="outlined">
                      {t("doctor.openChart")}
                      <Box component="span" sx={visuallyHidden}>
                        {" "}
                        {shortId(patient)}
                      </Box>
                    </Button>
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
