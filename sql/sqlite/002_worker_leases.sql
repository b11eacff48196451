-- imgbackfill schema, version 2 (SQLite): what the worker needs.

-- Workers take over jobs whose lease expired (their worker died) in
-- expiry order; only running jobs have a lease.
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';
