//! SQL of records, consents, access requests, emergencies, notifications and the ledger,
//! shared by both backends through `data_store!`.

/// Generates `RecordStore` and `LedgerStore` for a backend. The backend type provides
/// `BEGIN_WRITE`, `lock_ledger(&mut conn)` and a `commits` queue served by `write_batches`
/// (see sqlite.rs and postgres.rs).
macro_rules! data_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::RecordStore for $store {
            async fn record(
                &self,
                id: meditrustal_domain::RecordId,
            ) -> Result<Option<$crate::RecordMeta>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::records::RecordSqlRow>("SELECT * FROM records WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn record_and_version(
                &self,
                id: meditrustal_domain::RecordId,
                version: Option<u32>,
            ) -> Result<Option<($crate::RecordMeta, Option<$crate::RecordVersion>)>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::records::RecordAndVersionSqlRow>(
                    "SELECT r.*, v.version AS v_version, v.content_type AS v_content_type, \
                     v.size_bytes AS v_size_bytes, v.sealed AS v_sealed, \
                     v.commitment_salt AS v_commitment_salt, v.leaf_index AS v_leaf_index, \
                     v.created_by AS v_created_by, v.created_at AS v_created_at, \
                     v.correction_id AS v_correction_id \
                     FROM records r LEFT JOIN record_versions v \
                     ON v.record_id = r.id AND v.version = COALESCE($2, r.current_version) \
                     WHERE r.id = $1",
                )
                .bind(id.0)
                .bind(version.map(i64::from))
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn list_records(
                &self,
                patient: meditrustal_domain::UserId,
                filter: $crate::RecordFilter,
                page: $crate::Page,
            ) -> Result<Vec<$crate::RecordMeta>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::records::RecordSqlRow>(
                    "SELECT * FROM records WHERE patient_id = $1 \
                     AND ($2 IS NULL OR category = $2) \
                     AND ($3 IS NULL OR created_at >= $3) AND ($4 IS NULL OR created_at < $4) \
                     ORDER BY created_at DESC, id LIMIT $5 OFFSET $6",
                )
                .bind(patient.0)
                .bind(filter.category.map(|c| c.as_str()))
                .bind(filter.created_from)
                .bind(filter.created_before)
                .bind(i64::from(page.limit))
                .bind(i64::from(page.offset))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn record_versions(
                &self,
                id: meditrustal_domain::RecordId,
            ) -> Result<Vec<$crate::RecordVersion>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::records::VersionSqlRow>(
                    "SELECT * FROM record_versions WHERE record_id = $1 ORDER BY version",
                )
                .bind(id.0)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn record_versions_after(
                &self,
                after: Option<(meditrustal_domain::RecordId, u32)>,
                limit: u32,
            ) -> Result<Vec<$crate::RecordVersion>, $crate::StoreError> {
                let (id, version) = after.map_or((uuid::Uuid::nil(), -1), |(r, v)| (r.0, i64::from(v)));
                sqlx::query_as::<_, $crate::records::VersionSqlRow>(
                    "SELECT * FROM record_versions \
                     WHERE record_id > $1 OR (record_id = $1 AND version > $2) \
                     ORDER BY record_id, version LIMIT $3",
                )
                .bind(id)
                .bind(version)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn replace_sealed(
                &self,
                record: meditrustal_domain::RecordId,
                version: u32,
                expected: &str,
                sealed: &str,
            ) -> Result<bool, $crate::StoreError> {
                let updated = sqlx::query(
                    "UPDATE record_versions SET sealed = $4 \
                     WHERE record_id = $1 AND version = $2 AND sealed = $3",
                )
                .bind(record.0)
                .bind(i64::from(version))
                .bind(expected)
                .bind(sealed)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(updated == 1)
            }

            async fn consent(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<meditrustal_domain::ConsentGrant>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::records::ConsentSqlRow>("SELECT * FROM consents WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn consents(
                &self,
                patient: Option<meditrustal_domain::UserId>,
                grantee: Option<meditrustal_domain::UserId>,
            ) -> Result<Vec<meditrustal_domain::ConsentGrant>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::records::ConsentSqlRow>(
                    "SELECT * FROM consents WHERE ($1 IS NULL OR patient_id = $1) \
                     AND ($2 IS NULL OR grantee_id = $2) ORDER BY created_at DESC, id",
                )
                .bind(patient.map(|p| p.0))
                .bind(grantee.map(|g| g.0))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn access_request(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::AccessRequest>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::records::AccessRequestSqlRow>(
                    "SELECT * FROM access_requests WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn access_requests(
                &self,
                patient: Option<meditrustal_domain::UserId>,
                doctor: Option<meditrustal_domain::UserId>,
            ) -> Result<Vec<$crate::AccessRequest>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::records::AccessRequestSqlRow>(
                    "SELECT * FROM access_requests WHERE ($1 IS NULL OR patient_id = $1) \
                     AND ($2 IS NULL OR doctor_id = $2) ORDER BY created_at DESC, id",
                )
                .bind(patient.map(|p| p.0))
                .bind(doctor.map(|d| d.0))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn emergency_grants(
                &self,
                patient: meditrustal_domain::UserId,
                doctor: meditrustal_domain::UserId,
            ) -> Result<Vec<meditrustal_domain::EmergencyGrant>, $crate::StoreError> {
                let rows = sqlx::query_as::<_, $crate::records::EmergencySqlRow>(
                    "SELECT * FROM emergency_grants WHERE patient_id = $1 AND doctor_id = $2 \
                     ORDER BY created_at DESC",
                )
                .bind(patient.0)
                .bind(doctor.0)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn derived_items_under_kek(&self, kek_id: &str) -> Result<u64, $crate::StoreError> {
                let pattern = $crate::sealed_derived::kek_pattern(kek_id);
                let mut total = 0u64;
                for table in $crate::DerivedTable::ALL {
                    let count: i64 = sqlx::query_scalar(&table.count_sql())
                        .bind(&pattern)
                        .fetch_one(&self.pool)
                        .await?;
                    total += u64::try_from(count).unwrap_or(0);
                }
                Ok(total)
            }

            async fn derived_not_under_kek(
                &self,
                table: $crate::DerivedTable,
                kek_id: &str,
                after: Option<$crate::DerivedKey>,
                limit: u32,
            ) -> Result<Vec<$crate::DerivedSealed>, $crate::StoreError> {
                let (id, version) = after.map_or((uuid::Uuid::nil(), -1), |key| (key.id, key.version));
                let rows = sqlx::query_as::<_, $crate::sealed_derived::DerivedSqlRow>(&table.select_sql())
                    .bind($crate::sealed_derived::SEALED_PATTERN)
                    .bind($crate::sealed_derived::kek_pattern(kek_id))
                    .bind(id)
                    .bind(version)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|row| $crate::DerivedSealed {
                        key: $crate::DerivedKey { table, id: row.id, version: row.version },
                        sealed: row.sealed,
                    })
                    .collect())
            }

            async fn replace_derived_sealed(
                &self,
                key: $crate::DerivedKey,
                expected: &str,
                sealed: &str,
            ) -> Result<bool, $crate::StoreError> {
                let updated = sqlx::query(&key.table.replace_sql())
                    .bind(key.id)
                    .bind(key.version)
                    .bind(expected)
                    .bind(sealed)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(updated == 1)
            }

            async fn notifications(
                &self,
                user: meditrustal_domain::UserId,
                page: $crate::Page,
            ) -> Result<Vec<$crate::Notification>, $crate::StoreError> {
                let rows = sqlx::query_as::<_, $crate::records::NotificationSqlRow>(
                    "SELECT * FROM notifications WHERE user_id = $1 \
                     ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
                )
                .bind(user.0)
                .bind(i64::from(page.limit))
                .bind(i64::from(page.offset))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn correction_request(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::CorrectionRequest>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::records::CorrectionSqlRow>(
                    "SELECT * FROM correction_requests WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn export_job(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::ExportJob>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::records::ExportSqlRow>(
                    "SELECT * FROM export_jobs WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn export_jobs(
                &self,
                patient: Option<meditrustal_domain::UserId>,
            ) -> Result<Vec<$crate::ExportJob>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::records::ExportSqlRow>(
                    "SELECT * FROM export_jobs WHERE ($1 IS NULL OR patient_id = $1) ORDER BY created_at DESC, id",
                )
                .bind(patient.map(|p| p.0))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn correction_requests(
                &self,
                record: Option<meditrustal_domain::RecordId>,
                patient: Option<meditrustal_domain::UserId>,
            ) -> Result<Vec<$crate::CorrectionRequest>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::records::CorrectionSqlRow>(
                    "SELECT * FROM correction_requests WHERE ($1 IS NULL OR record_id = $1) \
                     AND ($2 IS NULL OR patient_id = $2) ORDER BY created_at DESC, id",
                )
                .bind(record.map(|r| r.0))
                .bind(patient.map(|p| p.0))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }
        }

        #[async_trait::async_trait]
        impl $crate::LedgerStore for $store {
            async fn commit(
                &self,
                change: $crate::Change,
                signer: &meditrustal_ledger::SigningKey,
                timestamp_ms: u64,
            ) -> Result<$crate::Committed, $crate::StoreError> {
                let (reply, answer) = tokio::sync::oneshot::channel();
                let job = $crate::group_commit::Job { change, signer: signer.clone(), timestamp_ms, reply };
                self.commits.send(job).await.map_err(|_| $crate::StoreError::WriterStopped)?;
                answer.await.map_err(|_| $crate::StoreError::WriterStopped)?
            }

            async fn latest_tree_head(
                &self,
            ) -> Result<Option<meditrustal_ledger::SignedTreeHead>, $crate::StoreError> {
                let mut conn = self.pool.acquire().await?;
                latest_head(&mut *conn).await
            }

            async fn tree_head(
                &self,
                tree_size: u64,
            ) -> Result<Option<meditrustal_ledger::SignedTreeHead>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::ledger::TreeHeadSqlRow>(
                    "SELECT * FROM ledger_tree_heads WHERE tree_size = $1",
                )
                .bind($crate::records::to_i64(tree_size, "ledger_tree_heads", "tree_size")?)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn tree_heads(
                &self,
            ) -> Result<Vec<meditrustal_ledger::SignedTreeHead>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::ledger::TreeHeadSqlRow>(
                    "SELECT * FROM ledger_tree_heads ORDER BY tree_size",
                )
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn leaves(
                &self,
                from: u64,
                limit: u32,
            ) -> Result<Vec<$crate::LeafRow>, $crate::StoreError> {
                let rows = sqlx::query_as::<_, $crate::ledger::LeafSqlRow>(
                    "SELECT * FROM ledger_leaves WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT $2",
                )
                .bind($crate::records::to_i64(from, "ledger_leaves", "leaf_index")?)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn audit_events(
                &self,
                filter: $crate::AuditFilter,
                page: $crate::Page,
            ) -> Result<Vec<$crate::LeafRow>, $crate::StoreError> {
                let (patient, actor) = match filter {
                    $crate::AuditFilter::Patient(p) => (Some(p.0), None),
                    $crate::AuditFilter::Actor(a) => (None, Some(a.0)),
                    $crate::AuditFilter::All => (None, None),
                };
                let rows = sqlx::query_as::<_, $crate::ledger::LeafSqlRow>(
                    "SELECT * FROM ledger_leaves WHERE ($1 IS NULL OR patient_id = $1) \
                     AND ($2 IS NULL OR actor_id = $2) ORDER BY leaf_index DESC LIMIT $3 OFFSET $4",
                )
                .bind(patient)
                .bind(actor)
                .bind(i64::from(page.limit))
                .bind(i64::from(page.offset))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn nodes(
                &self,
                ids: &[meditrustal_ledger::NodeId],
            ) -> Result<std::collections::HashMap<meditrustal_ledger::NodeId, meditrustal_ledger::Hash>, $crate::StoreError> {
                let mut conn = self.pool.acquire().await?;
                let mut found = std::collections::HashMap::with_capacity(ids.len());
                for id in ids {
                    found.insert(*id, fetch_node(&mut *conn, *id).await?);
                }
                Ok(found)
            }
        }

        async fn fetch_node(
            conn: &mut <<$store as $crate::sql_backend::SqlBackend>::Db as sqlx::Database>::Connection,
            id: meditrustal_ledger::NodeId,
        ) -> Result<meditrustal_ledger::Hash, $crate::StoreError> {
            let hash: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT hash FROM ledger_nodes WHERE level = $1 AND idx = $2")
                    .bind(i64::from(id.level))
                    .bind($crate::records::to_i64(id.index, "ledger_nodes", "idx")?)
                    .fetch_optional(&mut *conn)
                    .await?;
            let bytes: [u8; 32] = hash
                .and_then(|h| h.try_into().ok())
                .ok_or($crate::StoreError::Corrupt { table: "ledger_nodes", column: "hash" })?;
            Ok(meditrustal_ledger::Hash(bytes))
        }

        /// Runs until the store is dropped: takes every change queued while the previous
        /// batch was committing and commits them together (group commit). Keeps the tree's
        /// frontier (the perfect nodes covering it) between batches: a stored node never
        /// changes, so only nodes a batch did not see yet are read, even when another
        /// replica appended in between.
        async fn write_batches(
            pool: sqlx::Pool<<$store as $crate::sql_backend::SqlBackend>::Db>,
            mut jobs: tokio::sync::mpsc::Receiver<$crate::group_commit::Job>,
        ) {
            let mut frontier = std::collections::HashMap::new();
            // The writer keeps its connection between batches, so it never queues behind
            // readers for one; a batch that fails gives it up and the next takes a fresh one.
            let mut kept = None;
            while let Some(first) = jobs.recv().await {
                let mut batch = vec![first];
                while batch.len() < $crate::group_commit::MAX_BATCH {
                    match jobs.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let connection = match kept.take() {
                    Some(conn) => Ok(conn),
                    None => pool.acquire().await,
                };
                let outcomes = match connection {
                    Ok(mut conn) => {
                        let outcome = commit_batch(&mut *conn, &mut batch, &mut frontier).await;
                        if outcome.is_ok() {
                            kept = Some(conn);
                        }
                        outcome
                    }
                    Err(err) => Err($crate::StoreError::from(err)),
                };
                $crate::group_commit::answer(batch, outcomes);
            }
        }

        /// One transaction for the whole batch; each change with writes in a savepoint, so
        /// a stale change fails alone. Returns each change's first leaf (or error) and the
        /// batch's head; `frontier` becomes the committed tree's frontier.
        async fn commit_batch(
            conn: &mut <<$store as $crate::sql_backend::SqlBackend>::Db as sqlx::Database>::Connection,
            batch: &mut [$crate::group_commit::Job],
            frontier: &mut std::collections::HashMap<meditrustal_ledger::NodeId, meditrustal_ledger::Hash>,
        ) -> Result<$crate::group_commit::BatchOutcome, $crate::StoreError> {
            sqlx::query(<$store>::BEGIN_WRITE).execute(&mut *conn).await?;
            let mut nodes = frontier.clone();
            let result = append_batch(&mut *conn, batch, &mut nodes).await;
            let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
            let ended = sqlx::query(end).execute(&mut *conn).await;
            let (outcome, size) = result?;
            ended?;
            let cover = meditrustal_ledger::root_plan(size);
            nodes.retain(|id, _| cover.nodes().contains(id));
            *frontier = nodes;
            Ok(outcome)
        }

        /// Appends the batch's changes; the outcome and the tree size after them.
        async fn append_batch(
            conn: &mut <<$store as $crate::sql_backend::SqlBackend>::Db as sqlx::Database>::Connection,
            batch: &mut [$crate::group_commit::Job],
            nodes: &mut std::collections::HashMap<meditrustal_ledger::NodeId, meditrustal_ledger::Hash>,
        ) -> Result<($crate::group_commit::BatchOutcome, u64), $crate::StoreError> {
            <$store>::lock_ledger(&mut *conn).await?;
            let size: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(leaf_index) + 1, 0) FROM ledger_leaves")
                .fetch_one(&mut *conn)
                .await?;
            let mut size = u64::try_from(size).map_err(|_| $crate::StoreError::Corrupt {
                table: "ledger_leaves",
                column: "leaf_index",
            })?;
            let mut firsts = Vec::with_capacity(batch.len());
            let mut rows = $crate::group_commit::LedgerRows::default();
            for job in batch.iter_mut() {
                let change = std::mem::take(&mut job.change);
                // Only writes can be refused (a stale version, a duplicate); a change of
                // audit entries alone needs no savepoint, and its failure fails the batch.
                let isolated = !change.writes.is_empty();
                if isolated {
                    sqlx::query("SAVEPOINT change").execute(&mut *conn).await?;
                }
                let mut local_rows = $crate::group_commit::LedgerRows::default();
                match append_change(&mut *conn, change, size, nodes, &mut local_rows).await {
                    Ok(new_size) => {
                        if isolated {
                            sqlx::query("RELEASE SAVEPOINT change").execute(&mut *conn).await?;
                        }
                        firsts.push(Ok(size));
                        size = new_size;
                        rows.append(local_rows);
                    }
                    // Refused before any statement ran.
                    Err(err @ $crate::StoreError::EmptyChange) => firsts.push(Err(err)),
                    Err(err) if isolated => {
                        sqlx::query("ROLLBACK TO SAVEPOINT change").execute(&mut *conn).await?;
                        sqlx::query("RELEASE SAVEPOINT change").execute(&mut *conn).await?;
                        // The nodes this change computed are not stored; the ones it read
                        // are, and stay.
                        for (id, _) in &local_rows.nodes {
                            nodes.remove(id);
                        }
                        firsts.push(Err(err));
                    }
                    Err(err) => return Err(err),
                }
            }
            insert_ledger_rows(&mut *conn, &rows).await?;
            let appended = firsts.iter().any(|f| f.is_ok());
            let signer = batch.iter().map(|j| &j.signer).next();
            let head = match (appended, signer) {
                (true, Some(signer)) => {
                    let timestamp_ms = batch.iter().map(|j| j.timestamp_ms).max().unwrap_or_default();
                    Some(sign_head(&mut *conn, size, nodes, signer, timestamp_ms).await?)
                }
                _ => latest_head(&mut *conn).await?,
            };
            Ok(($crate::group_commit::BatchOutcome { firsts, head }, size))
        }

        /// Computes one change's leaves and the nodes they complete (into `rows`, which the
        /// batch writes together) and applies its writes; returns the new tree size.
        async fn append_change(
            conn: &mut <<$store as $crate::sql_backend::SqlBackend>::Db as sqlx::Database>::Connection,
            change: $crate::Change,
            first: u64,
            nodes: &mut std::collections::HashMap<meditrustal_ledger::NodeId, meditrustal_ledger::Hash>,
            rows: &mut $crate::group_commit::LedgerRows,
        ) -> Result<u64, $crate::StoreError> {
            if change.events.is_empty() {
                return Err($crate::StoreError::EmptyChange);
            }
            let count = change.events.len() as u64;
            for (index, event) in (first..).zip(change.events) {
                let plan = meditrustal_ledger::append_plan(index)?;
                for id in plan.nodes() {
                    if !nodes.contains_key(id) {
                        nodes.insert(*id, fetch_node(&mut *conn, *id).await?);
                    }
                }
                let created = plan.assemble(meditrustal_ledger::leaf_hash(&event.entry), &*nodes)?;
                nodes.extend(created.iter().copied());
                rows.nodes.extend(created);
                rows.leaves.push((index, event));
            }
            for write in change.writes {
                apply_write(&mut *conn, write, first).await?;
            }
            Ok(first + count)
        }

        /// Writes a batch's leaves and nodes in a few multi-row statements.
        async fn insert_ledger_rows(
            conn: &mut <<$store as $crate::sql_backend::SqlBackend>::Db as sqlx::Database>::Connection,
            rows: &$crate::group_commit::LedgerRows,
        ) -> Result<(), $crate::StoreError> {
            for chunk in rows.leaves.chunks($crate::group_commit::ROWS_PER_INSERT) {
                let indices = chunk
                    .iter()
                    .map(|(index, _)| $crate::records::to_i64(*index, "ledger_leaves", "leaf_index"))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO ledger_leaves (leaf_index, leaf_data, kind, actor_id, patient_id, \
                     record_id, outcome, created_at) ",
                );
                insert.push_values(chunk.iter().zip(indices), |mut row, ((_, event), index)| {
                    row.push_bind(index)
                        .push_bind(&event.entry)
                        .push_bind(&event.kind)
                        .push_bind(event.actor.map(|a| a.0))
                        .push_bind(event.patient.map(|p| p.0))
                        .push_bind(event.record.map(|r| r.0))
                        .push_bind(&event.outcome)
                        .push_bind(event.at);
                });
                insert.build().execute(&mut *conn).await?;
            }
            for chunk in rows.nodes.chunks($crate::group_commit::ROWS_PER_INSERT) {
                let indices = chunk
                    .iter()
                    .map(|(id, _)| $crate::records::to_i64(id.index, "ledger_nodes", "idx"))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut insert = sqlx::QueryBuilder::new("INSERT INTO ledger_nodes (level, idx, hash) ");
                insert.push_values(chunk.iter().zip(indices), |mut row, ((id, hash), index)| {
                    row.push_bind(i64::from(id.level))
                        .push_bind(index)
                        .push_bind(&hash.0[..]);
                });
                insert.build().execute(&mut *conn).await?;
            }
            Ok(())
        }

        async fn sign_head(
            conn: &mut <<$store as $crate::sql_backend::SqlBackend>::Db as sqlx::Database>::Connection,
            size: u64,
            nodes: &mut std::collections::HashMap<meditrustal_ledger::NodeId, meditrustal_ledger::Hash>,
            signer: &meditrustal_ledger::SigningKey,
            timestamp_ms: u64,
        ) -> Result<meditrustal_ledger::SignedTreeHead, $crate::StoreError> {
            let plan = meditrustal_ledger::root_plan(size);
            for id in plan.nodes() {
                if !nodes.contains_key(id) {
                    nodes.insert(*id, fetch_node(&mut *conn, *id).await?);
                }
            }
            let head = meditrustal_ledger::TreeHead { tree_size: size, root: plan.assemble(&*nodes)?, timestamp_ms };
            let signed = meditrustal_ledger::sign(signer, head);
            sqlx::query(
                "INSERT INTO ledger_tree_heads (tree_size, root, timestamp_ms, signature) VALUES ($1, $2, $3, $4)",
            )
            .bind($crate::records::to_i64(size, "ledger_tree_heads", "tree_size")?)
            .bind(&signed.head.root.0[..])
            .bind($crate::records::to_i64(timestamp_ms, "ledger_tree_heads", "timestamp_ms")?)
            .bind(&signed.signature.to_bytes()[..])
            .execute(&mut *conn)
            .await?;
            Ok(signed)
        }

        async fn latest_head(
            conn: &mut <<$store as $crate::sql_backend::SqlBackend>::Db as sqlx::Database>::Connection,
        ) -> Result<Option<meditrustal_ledger::SignedTreeHead>, $crate::StoreError> {
            sqlx::query_as::<_, $crate::ledger::TreeHeadSqlRow>(
                "SELECT * FROM ledger_tree_heads ORDER BY tree_size DESC LIMIT 1",
            )
            .fetch_optional(&mut *conn)
            .await?
            .map(TryInto::try_into)
            .transpose()
        }

        async fn apply_write(
            tx: &mut <<$store as $crate::sql_backend::SqlBackend>::Db as sqlx::Database>::Connection,
            write: $crate::Write,
            first_leaf: u64,
        ) -> Result<(), $crate::StoreError> {
            use $crate::Write as W;
            match write {
                W::CreateRecord(record) => {
                    let v = &record.first_version;
                    sqlx::query(
                        "INSERT INTO records (id, patient_id, category, current_version, created_by, \
                         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                    )
                    .bind(record.id.0)
                    .bind(record.patient.0)
                    .bind(record.category.as_str())
                    .bind(i64::from(v.version))
                    .bind(v.created_by.0)
                    .bind(v.created_at)
                    .execute(&mut *tx)
                    .await?;
                    insert_version(tx, &record.first_version, first_leaf).await
                }
                W::AddRecordVersion { version, expected_current } => {
                    let updated = sqlx::query(
                        "UPDATE records SET current_version = $2, updated_at = $3 \
                         WHERE id = $1 AND current_version = $4",
                    )
                    .bind(version.record_id.0)
                    .bind(i64::from(version.version))
                    .bind(version.created_at)
                    .bind(i64::from(expected_current))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if updated != 1 {
                        return Err($crate::StoreError::Stale { what: "record" });
                    }
                    insert_version(tx, &version, first_leaf).await
                }
                W::InsertConsent(c) => {
                    sqlx::query(
                        "INSERT INTO consents (id, patient_id, grantee_id, scope, purposes, allow_write, \
                         created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(c.id)
                    .bind(c.patient.0)
                    .bind(c.grantee.0)
                    .bind($crate::records::scope_json(&c.scope)?)
                    .bind($crate::records::purposes_json(&c.purposes)?)
                    .bind(c.allow_write)
                    .bind(c.created_at)
                    .bind(c.expires_at)
                    .bind(c.revoked_at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                W::RevokeConsent { id, at } => {
                    let updated = sqlx::query(
                        "UPDATE consents SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                    )
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if updated == 1 { Ok(()) } else { Err($crate::StoreError::Stale { what: "consent" }) }
                }
                W::InsertAccessRequest(r) => {
                    sqlx::query(
                        "INSERT INTO access_requests (id, doctor_id, patient_id, scope, purpose, reason, \
                         status, consent_id, created_at, decided_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(r.id)
                    .bind(r.doctor.0)
                    .bind(r.patient.0)
                    .bind($crate::records::scope_json(&r.scope)?)
                    .bind(r.purpose.as_str())
                    .bind(&r.reason)
                    .bind(r.status.as_str())
                    .bind(r.consent_id)
                    .bind(r.created_at)
                    .bind(r.decided_at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                W::DecideAccessRequest { id, status, consent_id, at } => {
                    let updated = sqlx::query(
                        "UPDATE access_requests SET status = $2, consent_id = $3, decided_at = $4 \
                         WHERE id = $1 AND status = 'pending'",
                    )
                    .bind(id)
                    .bind(status.as_str())
                    .bind(consent_id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if updated == 1 { Ok(()) } else { Err($crate::StoreError::Stale { what: "access request" }) }
                }
                W::InsertEmergencyGrant(g) => {
                    sqlx::query(
                        "INSERT INTO emergency_grants (id, doctor_id, patient_id, reason, created_at, \
                         expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(g.id)
                    .bind(g.doctor.0)
                    .bind(g.patient.0)
                    .bind(&g.reason)
                    .bind(g.created_at)
                    .bind(g.expires_at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                W::EraseRecord { id, at, basis, reason } => {
                    let updated = sqlx::query(
                        "UPDATE records SET erased_at = $2, erasure_basis = $3, erasure_reason = $4, updated_at = $2 \
                         WHERE id = $1 AND erased_at IS NULL AND hold_set_at IS NULL",
                    )
                    .bind(id.0)
                    .bind(at)
                    .bind(&basis)
                    .bind(&reason)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if updated != 1 {
                        return Err($crate::StoreError::Stale { what: "record" });
                    }
                    remove_fhir_index(tx, id).await?;
                    // The wrapped data keys go (crypto-shredding), and with the salts the
                    // ledger's commitments can no longer be checked against a guess.
                    sqlx::query("UPDATE record_versions SET sealed = $2, commitment_salt = $3 WHERE record_id = $1")
                        .bind(id.0)
                        .bind($crate::records::ERASED_SEALED)
                        .bind(Vec::<u8>::new())
                        .execute(&mut *tx)
                        .await?;
                    // Exports hold a decrypted copy of the record: finished ones lose their
                    // keys, and one being built can no longer finish (its archive becomes an
                    // orphan for gc).
                    sqlx::query(
                        "UPDATE export_jobs SET sealed = NULL, status = 'failed', \
                         error = 'withdrawn: it held data that was erased', finished_at = COALESCE(finished_at, $2) \
                         WHERE (sealed IS NOT NULL OR status IN ('pending', 'running')) \
                         AND patient_id = (SELECT patient_id FROM records WHERE id = $1)",
                    )
                    .bind(id.0)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    // Correction proposals are content too: their keys and texts go as well.
                    sqlx::query(
                        "UPDATE correction_requests SET proposal = $2, reason = '', decision_reason = NULL \
                         WHERE record_id = $1",
                    )
                    .bind(id.0)
                    .bind($crate::records::ERASED_SEALED)
                    .execute(&mut *tx)
                    .await?;
                    // What was derived from the record's content (its NLP results, the
                    // observations read from it and the alerts they raised) goes with it;
                    // the ledger keeps only the ids, scores and bands it always had.
                    for derived in [
                        "DELETE FROM nlp_results WHERE record_id = $1",
                        "DELETE FROM observations WHERE record_id = $1",
                        "DELETE FROM cdss_alerts WHERE record_id = $1",
                    ] {
                        sqlx::query(derived).bind(id.0).execute(&mut *tx).await?;
                    }
                    Ok(())
                }
                W::SetLegalHold { id, hold } => {
                    let updated = match hold {
                        Some(hold) => sqlx::query(
                            "UPDATE records SET hold_reason = $2, hold_set_by = $3, hold_set_at = $4 \
                             WHERE id = $1 AND erased_at IS NULL AND hold_set_at IS NULL",
                        )
                        .bind(id.0)
                        .bind(&hold.reason)
                        .bind(hold.set_by.0)
                        .bind(hold.set_at)
                        .execute(&mut *tx)
                        .await?,
                        None => sqlx::query(
                            "UPDATE records SET hold_reason = NULL, hold_set_by = NULL, hold_set_at = NULL \
                             WHERE id = $1 AND erased_at IS NULL AND hold_set_at IS NOT NULL",
                        )
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await?,
                    }
                    .rows_affected();
                    if updated == 1 { Ok(()) } else { Err($crate::StoreError::Stale { what: "legal hold" }) }
                }
                W::InsertCorrection(c) => {
                    sqlx::query(
                        "INSERT INTO correction_requests (id, record_id, patient_id, base_version, \
                         content_type, proposal, reason, status, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(c.id)
                    .bind(c.record_id.0)
                    .bind(c.patient.0)
                    .bind(i64::from(c.base_version))
                    .bind(&c.content_type)
                    .bind(&c.proposal)
                    .bind(&c.reason)
                    .bind(c.status.as_str())
                    .bind(c.created_at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                W::DecideCorrection { id, status, decided_by, decision_reason, new_version, at } => {
                    let updated = sqlx::query(
                        "UPDATE correction_requests SET status = $2, decided_by = $3, \
                         decision_reason = $4, new_version = $5, decided_at = $6 \
                         WHERE id = $1 AND status = 'pending'",
                    )
                    .bind(id)
                    .bind(status.as_str())
                    .bind(decided_by.0)
                    .bind(&decision_reason)
                    .bind(new_version.map(i64::from))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if updated == 1 { Ok(()) } else { Err($crate::StoreError::Stale { what: "correction request" }) }
                }
                W::InsertExportJob(job) => {
                    sqlx::query(
                        "INSERT INTO export_jobs (id, patient_id, status, created_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(job.id)
                    .bind(job.patient.0)
                    .bind(job.status.as_str())
                    .bind(job.created_at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                W::FinishExportJob(job) => {
                    let size = job
                        .size_bytes
                        .map(|v| $crate::records::to_i64(v, "export_jobs", "size_bytes"))
                        .transpose()?;
                    let updated = sqlx::query(
                        "UPDATE export_jobs SET status = $2, sealed = $3, size_bytes = $4, sha256 = $5, \
                         error = $6, finished_at = $7 WHERE id = $1 AND status IN ('pending', 'running')",
                    )
                    .bind(job.id)
                    .bind(job.status.as_str())
                    .bind(&job.sealed)
                    .bind(size)
                    .bind(&job.sha256)
                    .bind(&job.error)
                    .bind(job.finished_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if updated == 1 { Ok(()) } else { Err($crate::StoreError::Stale { what: "export job" }) }
                }
                W::EraseAccount { user, at } => {
                    let placeholder = format!("erased-{}", user.0.simple());
                    // "!" is no PHC string, so no password can ever match it.
                    let updated = sqlx::query(
                        "UPDATE users SET username = $2, email = $3, password_hash = '!', \
                         status = 'suspended', updated_at = $4 WHERE id = $1",
                    )
                    .bind(user.0)
                    .bind(&placeholder)
                    .bind(format!("{placeholder}@erased.invalid"))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if updated != 1 {
                        return Err($crate::StoreError::Stale { what: "account" });
                    }
                    for sql in [
                        "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
                        "UPDATE consents SET revoked_at = $2 WHERE patient_id = $1 AND revoked_at IS NULL",
                        "UPDATE access_requests SET status = 'denied', decided_at = $2 \
                         WHERE patient_id = $1 AND status = 'pending'",
                        "UPDATE export_jobs SET sealed = NULL, status = 'failed', \
                         error = 'withdrawn: the account was erased', finished_at = COALESCE(finished_at, $2) \
                         WHERE patient_id = $1 AND (sealed IS NOT NULL OR status IN ('pending', 'running'))",
                    ] {
                        sqlx::query(sql).bind(user.0).bind(at).execute(&mut *tx).await?;
                    }
                    // The profile (demographics) goes; research consent becomes opted out.
                    for sql in [
                        "DELETE FROM notifications WHERE user_id = $1",
                        "DELETE FROM patient_profiles WHERE patient_id = $1",
                    ] {
                        sqlx::query(sql).bind(user.0).execute(&mut *tx).await?;
                    }
                    sqlx::query(
                        "INSERT INTO research_consents (seq, patient_id, purpose, category, opted_in, changed_at) \
                         SELECT m.top + ROW_NUMBER() OVER (ORDER BY c.purpose, c.category), \
                         c.patient_id, c.purpose, c.category, FALSE, $2 \
                         FROM (SELECT DISTINCT patient_id, purpose, category FROM research_consents \
                         WHERE patient_id = $1) c \
                         CROSS JOIN (SELECT COALESCE(MAX(seq), 0) AS top FROM research_consents) m",
                    )
                    .bind(user.0)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                W::InsertNotification(n) => {
                    sqlx::query(
                        "INSERT INTO notifications (id, user_id, kind, payload, created_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(n.id)
                    .bind(n.user.0)
                    .bind(&n.kind)
                    .bind(&n.payload)
                    .bind(n.created_at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                W::UpsertNlpResult(r) => {
                    sqlx::query(
                        "INSERT INTO nlp_results (record_id, version, sealed, created_by, created_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (record_id, version) DO UPDATE \
                         SET sealed = excluded.sealed, created_by = excluded.created_by, \
                         created_at = excluded.created_at",
                    )
                    .bind(r.record_id.0)
                    .bind(i64::from(r.version))
                    .bind(&r.sealed)
                    .bind(r.created_by.0)
                    .bind(r.created_at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                W::IndexFhirResource(row) => write_fhir_index(tx, &row).await,
                W::InsertObservations(b) => {
                    sqlx::query(
                        "INSERT INTO observations (id, patient_id, source, record_id, version, \
                         observed_at, sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (record_id, version) DO NOTHING",
                    )
                    .bind(b.id)
                    .bind(b.patient.0)
                    .bind(b.source.as_str())
                    .bind(b.record.map(|(r, _)| r.0))
                    .bind(b.record.map(|(_, v)| i64::from(v)))
                    .bind(b.observed_at)
                    .bind(&b.sealed)
                    .bind(b.created_at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                W::InsertAlert(a) => {
                    sqlx::query(
                        "INSERT INTO cdss_alerts (id, patient_id, rule, severity, band, record_id, \
                         category, sealed, raised_at, resolved_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(a.id)
                    .bind(a.patient.0)
                    .bind(&a.rule)
                    .bind(&a.severity)
                    .bind(&a.band)
                    .bind(a.record.map(|(r, _)| r.0))
                    .bind(a.record.map(|(_, c)| c.as_str()))
                    .bind(&a.sealed)
                    .bind(a.raised_at)
                    .bind(a.resolved_at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                W::Research(write) => apply_research_write(tx, write).await,
                W::ResolveAlert { id, at } => {
                    let updated = sqlx::query(
                        "UPDATE cdss_alerts SET resolved_at = $2 WHERE id = $1 AND resolved_at IS NULL",
                    )
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if updated == 1 { Ok(()) } else { Err($crate::StoreError::Stale { what: "alert" }) }
                }
            }
        }

        async fn insert_version(
            tx: &mut <<$store as $crate::sql_backend::SqlBackend>::Db as sqlx::Database>::Connection,
            v: &$crate::NewRecordVersion,
            first_leaf: u64,
        ) -> Result<(), $crate::StoreError> {
            let leaf = first_leaf + v.event as u64;
            sqlx::query(
                "INSERT INTO record_versions (record_id, version, content_type, size_bytes, sealed, \
                 commitment_salt, leaf_index, created_by, created_at, correction_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(v.record_id.0)
            .bind(i64::from(v.version))
            .bind(&v.content_type)
            .bind($crate::records::to_i64(v.size_bytes, "record_versions", "size_bytes")?)
            .bind(&v.sealed)
            .bind(&v.commitment_salt[..])
            .bind($crate::records::to_i64(leaf, "record_versions", "leaf_index")?)
            .bind(v.created_by.0)
            .bind(v.created_at)
            .bind(v.correction_id)
            .execute(&mut *tx)
            .await?;
            Ok(())
        }
    };
}
pub(crate) use data_store;
