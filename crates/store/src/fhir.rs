//! The search index of FHIR resources stored as records: typed columns per parameter kind
//! (migration 0008), written in the same commit as the record version they describe
//! ([`crate::Write::IndexFhirResource`]) and removed with the record on erasure. Token
//! systems and codes arrive here already hashed under a key the application holds
//! (migration 0010); the store compares them as opaque text.

use async_trait::async_trait;
use meditrustal_domain::{RecordId, UserId};

use crate::StoreError;

/// One token (`code` or `category`) of a resource, its system and code as keyed hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FhirToken {
    pub param: &'static str,
    pub system: String,
    pub code: String,
}

/// The search values of a resource's current version; replaces what was indexed before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FhirIndexRow {
    pub record_id: RecordId,
    pub resource_type: &'static str,
    pub patient: UserId,
    pub status: Option<String>,
    /// `[start, end)` in Unix milliseconds.
    pub date: Option<(i64, i64)>,
    /// Unix milliseconds.
    pub last_updated: i64,
    pub tokens: Vec<FhirToken>,
    /// Whether an earlier version was indexed (an update), whose rows this replaces.
    pub replaces: bool,
}

/// A token condition: either part may be open (`system|` or a bare `code`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFilter {
    pub system: Option<String>,
    pub code: Option<String>,
}

/// How a search is ordered; the record id breaks ties so pages are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FhirOrder {
    LastUpdated,
    LastUpdatedDesc,
    Date,
    DateDesc,
}

/// A search of one resource type; every bound present must hold (times in Unix ms). A
/// list of alternatives matches when any of them does; an empty list does not constrain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FhirSearch {
    pub resource_type: &'static str,
    pub patient: Option<UserId>,
    pub ids: Vec<RecordId>,
    /// Only these records: those the searcher may see (`None`: every record; empty:
    /// none), so that the total and the pages count visible resources only.
    pub records: Option<Vec<RecordId>>,
    pub status: Vec<String>,
    pub code: Vec<TokenFilter>,
    pub category: Vec<TokenFilter>,
    pub start_from: Option<i64>,
    pub start_before: Option<i64>,
    pub end_after: Option<i64>,
    pub end_until: Option<i64>,
    pub updated_from: Option<i64>,
    pub updated_before: Option<i64>,
    pub order: FhirOrder,
    pub limit: u32,
    pub offset: u32,
}

impl FhirSearch {
    /// Every resource of one type, first page of one, oldest update first; callers narrow
    /// it with struct update syntax.
    pub fn of(resource_type: &'static str) -> FhirSearch {
        FhirSearch {
            resource_type,
            patient: None,
            ids: Vec::new(),
            records: None,
            status: Vec::new(),
            code: Vec::new(),
            category: Vec::new(),
            start_from: None,
            start_before: None,
            end_after: None,
            end_until: None,
            updated_from: None,
            updated_before: None,
            order: FhirOrder::LastUpdated,
            limit: 1,
            offset: 0,
        }
    }
}

#[async_trait]
pub trait FhirStore: Send + Sync + 'static {
    /// How many resources match, and the ids of the requested page.
    async fn search_fhir(&self, search: &FhirSearch) -> Result<(u64, Vec<RecordId>), StoreError>;

    /// The sealed key of the token hashes, once one was stored: its id and sealed text.
    async fn fhir_index_key(&self) -> Result<Option<(uuid::Uuid, String)>, StoreError>;
    /// Stores the key unless one is stored already (another process may have won).
    async fn insert_fhir_index_key(&self, id: uuid::Uuid, sealed: &str) -> Result<(), StoreError>;
    /// Indexed resources whose tokens are not hashed yet (indexed before migration 0010),
    /// with their resource type, in record order after `after`, at most `limit`.
    async fn fhir_resources_unhashed(
        &self,
        after: Option<RecordId>,
        limit: u32,
    ) -> Result<Vec<(RecordId, String)>, StoreError>;
    /// Writes a not yet hashed resource's tokens and marks it; `false` (nothing written)
    /// when it was marked meanwhile, because a newer version indexed its own tokens.
    async fn hash_fhir_tokens(
        &self,
        record: RecordId,
        tokens: &[FhirToken],
    ) -> Result<bool, StoreError>;
}

/// A value bound to a search's SQL.
pub(crate) enum SearchBind {
    Text(String),
    Id(uuid::Uuid),
    Millis(i64),
}

/// The text of a `WHERE` clause and its parameters, in order.
struct Clause {
    sql: String,
    binds: Vec<SearchBind>,
}

impl Clause {
    /// Binds a value; answers its placeholder.
    fn param(&mut self, bind: SearchBind) -> String {
        self.binds.push(bind);
        format!("${}", self.binds.len())
    }

    /// Appends a fragment whose `?` is the placeholder of `bind`.
    fn add(&mut self, fragment: &str, bind: SearchBind) {
        let placeholder = self.param(bind);
        self.sql.push_str(&fragment.replace('?', &placeholder));
    }

    /// ` AND column IN (…)` over bound values; an empty list matches nothing.
    fn any_of(&mut self, column: &str, values: impl IntoIterator<Item = SearchBind>) {
        let placeholders: Vec<String> = values.into_iter().map(|v| self.param(v)).collect();
        if placeholders.is_empty() {
            self.sql.push_str(" AND 1 = 0");
        } else {
            self.sql
                .push_str(&format!(" AND {column} IN ({})", placeholders.join(", ")));
        }
    }
}

/// The `WHERE` clause of a search and its parameters, in order: only the conditions the
/// search has, so each backend's planner sees plain indexable predicates (SQLite cannot
/// simplify `$n IS NULL OR …` on a bound parameter and would scan every resource). The
/// text comes from fixed fragments only; every value is a parameter.
pub(crate) fn search_where(s: &FhirSearch) -> (String, Vec<SearchBind>) {
    let mut clause = Clause {
        sql: String::from("FROM fhir_resources r WHERE r.resource_type = $1"),
        binds: vec![SearchBind::Text(s.resource_type.to_owned())],
    };
    if let Some(patient) = s.patient {
        clause.add(" AND r.patient_id = ?", SearchBind::Id(patient.0));
    }
    if !s.ids.is_empty() {
        clause.any_of("r.record_id", s.ids.iter().map(|id| SearchBind::Id(id.0)));
    }
    if let Some(records) = &s.records {
        clause.any_of("r.record_id", records.iter().map(|r| SearchBind::Id(r.0)));
    }
    if !s.status.is_empty() {
        clause.any_of(
            "r.status",
            s.status
                .iter()
                .map(|status| SearchBind::Text(status.clone())),
        );
    }
    for (bound, fragment) in [
        (s.start_from, " AND r.date_start >= ?"),
        (s.start_before, " AND r.date_start < ?"),
        (s.end_after, " AND r.date_end > ?"),
        (s.end_until, " AND r.date_end <= ?"),
        (s.updated_from, " AND r.last_updated >= ?"),
        (s.updated_before, " AND r.last_updated < ?"),
    ] {
        if let Some(value) = bound {
            clause.add(fragment, SearchBind::Millis(value));
        }
    }
    for (param, tokens) in [("code", &s.code), ("category", &s.category)] {
        if tokens.is_empty() {
            continue;
        }
        clause.add(
            " AND EXISTS (SELECT 1 FROM fhir_tokens t WHERE t.record_id = r.record_id AND t.param = ?",
            SearchBind::Text(param.to_owned()),
        );
        let alternatives: Vec<String> = tokens
            .iter()
            .map(|token| {
                let mut parts = Vec::new();
                if let Some(code) = &token.code {
                    let code = clause.param(SearchBind::Text(code.clone()));
                    parts.push(format!("t.code = {code}"));
                }
                if let Some(system) = &token.system {
                    let system = clause.param(SearchBind::Text(system.clone()));
                    parts.push(format!("t.system = {system}"));
                }
                if parts.is_empty() {
                    "1 = 1".to_owned()
                } else {
                    format!("({})", parts.join(" AND "))
                }
            })
            .collect();
        clause
            .sql
            .push_str(&format!(" AND ({}))", alternatives.join(" OR ")));
    }
    (clause.sql, clause.binds)
}

pub(crate) fn order_by(order: FhirOrder) -> &'static str {
    match order {
        FhirOrder::LastUpdated => "ORDER BY r.last_updated, r.record_id",
        FhirOrder::LastUpdatedDesc => "ORDER BY r.last_updated DESC, r.record_id DESC",
        // Undated resources sort last either way.
        FhirOrder::Date => "ORDER BY r.date_start IS NULL, r.date_start, r.record_id",
        FhirOrder::DateDesc => "ORDER BY r.date_start IS NULL, r.date_start DESC, r.record_id DESC",
    }
}

/// Generates `FhirStore` and the index writes for a backend from one body of SQL.
macro_rules! fhir_store {
    ($store:ty) => {
        macro_rules! bind_search {
            ($query:expr, $binds:expr) => {{
                let mut query = $query;
                for bind in $binds {
                    query = match bind {
                        $crate::fhir::SearchBind::Text(text) => query.bind(text.clone()),
                        $crate::fhir::SearchBind::Id(id) => query.bind(*id),
                        $crate::fhir::SearchBind::Millis(ms) => query.bind(*ms),
                    };
                }
                query
            }};
        }

        #[async_trait::async_trait]
        impl $crate::fhir::FhirStore for $store {
            async fn search_fhir(
                &self,
                search: &$crate::fhir::FhirSearch,
            ) -> Result<(u64, Vec<meditrustal_domain::RecordId>), $crate::StoreError> {
                let (where_clause, binds) = $crate::fhir::search_where(search);
                let count_sql = format!("SELECT COUNT(*) {where_clause}");
                let total: i64 = bind_search!(sqlx::query_scalar(&count_sql), &binds)
                    .fetch_one(&self.pool)
                    .await?;
                let page_sql = format!(
                    "SELECT r.record_id {where_clause} {} LIMIT ${} OFFSET ${}",
                    $crate::fhir::order_by(search.order),
                    binds.len() + 1,
                    binds.len() + 2,
                );
                let ids: Vec<uuid::Uuid> = bind_search!(sqlx::query_scalar(&page_sql), &binds)
                    .bind(i64::from(search.limit))
                    .bind(i64::from(search.offset))
                    .fetch_all(&self.pool)
                    .await?;
                Ok((
                    u64::try_from(total).unwrap_or(0),
                    ids.into_iter().map(meditrustal_domain::RecordId).collect(),
                ))
            }

            async fn fhir_index_key(
                &self,
            ) -> Result<Option<(uuid::Uuid, String)>, $crate::StoreError> {
                Ok(sqlx::query_as("SELECT id, sealed FROM fhir_index_keys")
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn insert_fhir_index_key(
                &self,
                id: uuid::Uuid,
                sealed: &str,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO fhir_index_keys (id, sealed) VALUES ($1, $2) \
                     ON CONFLICT (singleton) DO NOTHING",
                )
                .bind(id)
                .bind(sealed)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn fhir_resources_unhashed(
                &self,
                after: Option<meditrustal_domain::RecordId>,
                limit: u32,
            ) -> Result<Vec<(meditrustal_domain::RecordId, String)>, $crate::StoreError> {
                let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(
                    "SELECT record_id, resource_type FROM fhir_resources \
                     WHERE tokens_hashed = 0 AND ($1 IS NULL OR record_id > $1) \
                     ORDER BY record_id LIMIT $2",
                )
                .bind(after.map(|r| r.0))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, kind)| (meditrustal_domain::RecordId(id), kind))
                    .collect())
            }

            async fn hash_fhir_tokens(
                &self,
                record: meditrustal_domain::RecordId,
                tokens: &[$crate::fhir::FhirToken],
            ) -> Result<bool, $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
                // The mark first: it is the write that orders this against an update of
                // the same resource, which writes the mark with its own tokens.
                let marked = sqlx::query(
                    "UPDATE fhir_resources SET tokens_hashed = 1 \
                     WHERE record_id = $1 AND tokens_hashed = 0",
                )
                .bind(record.0)
                .execute(&mut *tx)
                .await?;
                if marked.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM fhir_tokens WHERE record_id = $1")
                    .bind(record.0)
                    .execute(&mut *tx)
                    .await?;
                insert_fhir_tokens(&mut *tx, record, tokens).await?;
                tx.commit().await?;
                Ok(true)
            }
        }

        async fn insert_fhir_tokens(
            tx: &mut <<$store as $crate::sql_backend::SqlBackend>::Db as sqlx::Database>::Connection,
            record: meditrustal_domain::RecordId,
            tokens: &[$crate::fhir::FhirToken],
        ) -> Result<(), $crate::StoreError> {
            for chunk in tokens.chunks($crate::group_commit::ROWS_PER_INSERT) {
                let mut insert =
                    sqlx::QueryBuilder::new("INSERT INTO fhir_tokens (record_id, param, system, code) ");
                insert.push_values(chunk, |mut values, token| {
                    values
                        .push_bind(record.0)
                        .push_bind(token.param)
                        .push_bind(&token.system)
                        .push_bind(&token.code);
                });
                insert.build().execute(&mut *tx).await?;
            }
            Ok(())
        }

        /// Replaces a resource's index rows with those of its new version.
        async fn write_fhir_index(
            tx: &mut <<$store as $crate::sql_backend::SqlBackend>::Db as sqlx::Database>::Connection,
            row: &$crate::fhir::FhirIndexRow,
        ) -> Result<(), $crate::StoreError> {
            if row.replaces {
                remove_fhir_index(tx, row.record_id).await?;
            }
            sqlx::query(
                "INSERT INTO fhir_resources (record_id, resource_type, patient_id, status, \
                 date_start, date_end, last_updated, tokens_hashed) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 1)",
            )
            .bind(row.record_id.0)
            .bind(row.resource_type)
            .bind(row.patient.0)
            .bind(&row.status)
            .bind(row.date.map(|d| d.0))
            .bind(row.date.map(|d| d.1))
            .bind(row.last_updated)
            .execute(&mut *tx)
            .await?;
            insert_fhir_tokens(&mut *tx, row.record_id, &row.tokens).await
        }

        /// Erasure: the index holds clinical codes, so it goes with the record.
        async fn remove_fhir_index(
            tx: &mut <<$store as $crate::sql_backend::SqlBackend>::Db as sqlx::Database>::Connection,
            record: meditrustal_domain::RecordId,
        ) -> Result<(), $crate::StoreError> {
            sqlx::query("DELETE FROM fhir_tokens WHERE record_id = $1")
                .bind(record.0)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM fhir_resources WHERE record_id = $1")
                .bind(record.0)
                .execute(&mut *tx)
                .await?;
            Ok(())
        }
    };
}
pub(crate) use fhir_store;

#[cfg(test)]
mod tests {
    use super::*;

    fn search() -> FhirSearch {
        FhirSearch {
            limit: 20,
            ..FhirSearch::of("Observation")
        }
    }

    fn texts(binds: &[SearchBind]) -> Vec<String> {
        binds
            .iter()
            .map(|bind| match bind {
                SearchBind::Text(text) => text.clone(),
                SearchBind::Id(id) => id.to_string(),
                SearchBind::Millis(ms) => ms.to_string(),
            })
            .collect()
    }

    #[test]
    fn alternatives_are_or_conditions_over_bound_values() {
        let (sql, binds) = search_where(&FhirSearch {
            status: vec!["final".into(), "amended".into()],
            code: vec![
                TokenFilter {
                    system: Some("http://loinc.org".into()),
                    code: Some("8867-4".into()),
                },
                TokenFilter {
                    system: None,
                    code: Some("8480-6".into()),
                },
            ],
            ..search()
        });
        assert_eq!(
            sql,
            "FROM fhir_resources r WHERE r.resource_type = $1 AND r.status IN ($2, $3) \
             AND EXISTS (SELECT 1 FROM fhir_tokens t WHERE t.record_id = r.record_id \
             AND t.param = $4 AND ((t.code = $5 AND t.system = $6) OR (t.code = $7)))"
        );
        assert_eq!(
            texts(&binds),
            [
                "Observation",
                "final",
                "amended",
                "code",
                "8867-4",
                "http://loinc.org",
                "8480-6"
            ]
        );
    }

    #[test]
    fn an_empty_visible_set_matches_nothing_and_none_matches_all() {
        let (sql, binds) = search_where(&FhirSearch {
            records: Some(Vec::new()),
            ..search()
        });
        assert!(sql.ends_with(" AND 1 = 0"), "{sql}");
        assert_eq!(binds.len(), 1);
        let (sql, _) = search_where(&search());
        assert!(!sql.contains("record_id"), "{sql}");
    }
}
