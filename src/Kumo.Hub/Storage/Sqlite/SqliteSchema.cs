namespace Kumo.Hub.Storage.Sqlite;

/// <summary>Schema migrations, applied in order at start inside one transaction each. Never edit a shipped step; add one.</summary>
internal static class SqliteSchema
{
    public static readonly IReadOnlyList<(int Version, string Description, string Sql)> Migrations =
    [
        (1, "seen nonces, providers, jobs, leases, events, logs, outputs, content, uploads", """
            CREATE TABLE seen_nonces (
                account     TEXT NOT NULL,
                nonce       INTEGER NOT NULL,
                seen_at     INTEGER NOT NULL,
                PRIMARY KEY (account, nonce)
            ) WITHOUT ROWID;
            CREATE INDEX seen_nonces_by_time ON seen_nonces(seen_at);
            CREATE TABLE providers (
                id                      TEXT PRIMARY KEY,
                name                    TEXT NOT NULL,
                public_key              TEXT NOT NULL,
                registration_envelope   TEXT NOT NULL,
                inventory_json          TEXT NOT NULL,
                pricing_json            TEXT NOT NULL,
                sandbox                 TEXT NOT NULL,
                simulated               INTEGER NOT NULL,
                status                  INTEGER NOT NULL,
                registered_at           INTEGER NOT NULL,
                last_heartbeat_at       INTEGER,
                last_heartbeat_seq      INTEGER NOT NULL DEFAULT 0
            );
            CREATE TABLE jobs (
                seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
                id                  TEXT NOT NULL UNIQUE,
                tenant              TEXT NOT NULL,
                name                TEXT NOT NULL,
                state               INTEGER NOT NULL,
                spec_json           TEXT NOT NULL,
                submission_envelope TEXT NOT NULL,
                created_at          INTEGER NOT NULL,
                updated_at          INTEGER NOT NULL,
                failure_reason      INTEGER,
                failure_detail      TEXT,
                next_log_seq        INTEGER NOT NULL DEFAULT 1,
                excluded_providers  TEXT NOT NULL DEFAULT ''
            );
            CREATE INDEX jobs_by_state ON jobs(state, seq);
            CREATE INDEX jobs_by_tenant ON jobs(tenant, seq);
            CREATE TABLE leases (
                id                  TEXT PRIMARY KEY,
                job_id              TEXT NOT NULL REFERENCES jobs(id),
                provider_id         TEXT NOT NULL REFERENCES providers(id),
                state               INTEGER NOT NULL,
                allocation_json     TEXT NOT NULL,
                price_per_hour_micros INTEGER NOT NULL,
                simulated_gpus      INTEGER NOT NULL,
                offered_at          INTEGER NOT NULL,
                accepted_at         INTEGER,
                started_at          INTEGER,
                first_log_at        INTEGER,
                closed_at           INTEGER,
                close_reason        INTEGER NOT NULL DEFAULT 0,
                close_detail        TEXT,
                exit_code           INTEGER,
                acceptance_envelope TEXT,
                result_envelope     TEXT,
                log_lines_received  INTEGER NOT NULL DEFAULT 0
            );
            CREATE INDEX leases_by_job ON leases(job_id);
            CREATE INDEX leases_open_by_provider ON leases(provider_id, state);
            CREATE TABLE job_events (
                id      INTEGER PRIMARY KEY AUTOINCREMENT,
                job_id  TEXT NOT NULL REFERENCES jobs(id),
                at      INTEGER NOT NULL,
                kind    TEXT NOT NULL,
                detail  TEXT NOT NULL
            );
            CREATE INDEX job_events_by_job ON job_events(job_id, id);
            CREATE TABLE job_logs (
                job_id      TEXT NOT NULL REFERENCES jobs(id),
                seq         INTEGER NOT NULL,
                lease_id    TEXT NOT NULL,
                stream      INTEGER NOT NULL,
                timestamp   INTEGER NOT NULL,
                text        TEXT NOT NULL,
                PRIMARY KEY (job_id, seq)
            ) WITHOUT ROWID;
            CREATE TABLE job_outputs (
                job_id  TEXT NOT NULL REFERENCES jobs(id),
                path    TEXT NOT NULL,
                cid     TEXT NOT NULL,
                size    INTEGER NOT NULL,
                PRIMARY KEY (job_id, path)
            );
            CREATE TABLE content (
                cid         TEXT PRIMARY KEY,
                size        INTEGER NOT NULL,
                stored_at   INTEGER NOT NULL
            );
            CREATE TABLE uploads (
                id          TEXT PRIMARY KEY,
                cid         TEXT NOT NULL,
                size        INTEGER NOT NULL,
                leaves_json TEXT NOT NULL,
                owner       TEXT NOT NULL,
                created_at  INTEGER NOT NULL
            );
            CREATE INDEX uploads_by_cid ON uploads(cid);
            CREATE TABLE upload_chunks (
                upload_id   TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
                idx         INTEGER NOT NULL,
                PRIMARY KEY (upload_id, idx)
            ) WITHOUT ROWID;
            """),
        (2, "ledger: genesis, blocks, transactions, postings, materialized state; ledger progress of leases and jobs", """
            ALTER TABLE leases ADD COLUMN ledger_phase INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE jobs ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0;
            CREATE INDEX leases_ledger_pending ON leases(ledger_phase, accepted_at);
            CREATE INDEX jobs_refund_pending ON jobs(refunded, state);
            CREATE TABLE ledger_genesis (
                id      INTEGER PRIMARY KEY CHECK (id = 1),
                body    BLOB NOT NULL
            );
            CREATE TABLE ledger_blocks (
                height      INTEGER PRIMARY KEY,
                time        INTEGER NOT NULL,
                hash        TEXT NOT NULL UNIQUE,
                tx_count    INTEGER NOT NULL,
                header      BLOB NOT NULL
            );
            CREATE TABLE ledger_txs (
                height  INTEGER NOT NULL,
                idx     INTEGER NOT NULL,
                hash    TEXT NOT NULL,
                kind    TEXT NOT NULL,
                signer  TEXT,
                body    BLOB NOT NULL,
                PRIMARY KEY (height, idx)
            ) WITHOUT ROWID;
            CREATE INDEX ledger_txs_by_hash ON ledger_txs(hash);
            CREATE TABLE ledger_postings (
                account TEXT NOT NULL,
                height  INTEGER NOT NULL,
                idx     INTEGER NOT NULL,
                delta   INTEGER NOT NULL,
                PRIMARY KEY (account, height, idx)
            ) WITHOUT ROWID;
            CREATE TABLE ledger_state (
                line    TEXT PRIMARY KEY
            ) WITHOUT ROWID;
            """),
        (3, "market: order attempts and explanations, cluster leases, bids, checkpoints, reputation, attestations", """
            ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE jobs ADD COLUMN failovers INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE jobs ADD COLUMN order_opened_at INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE jobs ADD COLUMN explanation TEXT;
            ALTER TABLE leases ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE leases ADD COLUMN node_rank INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE leases ADD COLUMN bid_id TEXT;
            CREATE TABLE bids (
                id                      TEXT PRIMARY KEY,
                job_id                  TEXT NOT NULL REFERENCES jobs(id),
                attempt                 INTEGER NOT NULL,
                provider_id             TEXT NOT NULL,
                state                   INTEGER NOT NULL,
                price_per_hour_micros   INTEGER NOT NULL,
                nodes_json              TEXT NOT NULL,
                envelope                TEXT,
                received_at             INTEGER NOT NULL,
                expires_at              INTEGER NOT NULL,
                detail                  TEXT NOT NULL DEFAULT ''
            );
            CREATE INDEX bids_by_job ON bids(job_id, attempt);
            CREATE INDEX bids_open ON bids(state, expires_at);
            CREATE TABLE checkpoints (
                job_id      TEXT NOT NULL REFERENCES jobs(id),
                lease_id    TEXT NOT NULL,
                at          INTEGER NOT NULL,
                files_json  TEXT NOT NULL,
                envelope    TEXT NOT NULL,
                PRIMARY KEY (job_id, at, lease_id)
            ) WITHOUT ROWID;
            CREATE TABLE reputation (
                provider_id TEXT PRIMARY KEY,
                successes   REAL NOT NULL,
                failures    REAL NOT NULL,
                outcomes    INTEGER NOT NULL,
                updated_at  INTEGER NOT NULL
            );
            CREATE TABLE attestations (
                provider_id     TEXT NOT NULL,
                auditor         TEXT NOT NULL,
                attributes_json TEXT NOT NULL,
                envelope        TEXT NOT NULL,
                at              INTEGER NOT NULL,
                PRIMARY KEY (provider_id, auditor)
            ) WITHOUT ROWID;
            """),
        (4, "exec replication: replica leases, per-provider trust per hardware class", """
            ALTER TABLE leases ADD COLUMN replica_of TEXT;
            CREATE TABLE exec_trust (
                provider_id     TEXT NOT NULL,
                hardware_class  TEXT NOT NULL,
                agreements      INTEGER NOT NULL,
                updated_at      INTEGER NOT NULL,
                PRIMARY KEY (provider_id, hardware_class)
            ) WITHOUT ROWID;
            """),
        (5, "proof of learning: per-provider standing (segments delivered since joining or last caught)", """
            CREATE TABLE training_standing (
                provider_id TEXT PRIMARY KEY,
                delivered   INTEGER NOT NULL,
                updated_at  INTEGER NOT NULL
            );
            """),
        (6, "checkers: per-provider standing (health, reputation, pauses)", """
            CREATE TABLE provider_checks (
                provider_id   TEXT PRIMARY KEY,
                standing_json TEXT NOT NULL,
                updated_at    INTEGER NOT NULL
            );
            """),
        (7, "validator pool: per-validator standing (reputation, assignments, misses, status)", """
            CREATE TABLE validator_standing (
                validator_id TEXT PRIMARY KEY,
                reputation   REAL NOT NULL,
                assignments  INTEGER NOT NULL,
                missed       INTEGER NOT NULL,
                status       TEXT NOT NULL,
                updated_at   INTEGER NOT NULL
            );
            """),
        (8, "hardware proofs: each provider's latest round (claims proved, verdict, tier, when due again)", """
            CREATE TABLE hardware_proofs (
                provider_id TEXT PRIMARY KEY,
                proof_json  TEXT NOT NULL,
                updated_at  INTEGER NOT NULL
            );
            """),
        (9, "verification draws: the randomness a job's check sampled with, kept so a restart checks the same work", """
            CREATE TABLE verification_draws (
                job_id TEXT PRIMARY KEY,
                seed   TEXT NOT NULL,
                q      REAL NOT NULL,
                at     INTEGER NOT NULL
            );
            """),
        (10, "checkers: the failed capacity re-tests of a provider's current streak, with what it signed in them", """
            ALTER TABLE provider_checks ADD COLUMN capacity_failures_json TEXT;
            """),
        (11, "leases: the replication fee offered with an exec lease, which its acceptance must repeat", """
            ALTER TABLE leases ADD COLUMN replication_fee_bps INTEGER NOT NULL DEFAULT 0;
            """),
    ];
}
