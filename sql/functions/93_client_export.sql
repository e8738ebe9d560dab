-- 93_client_export.sql: everything held about one client, as one JSON document, for their
-- rights of access and portability (GDPR articles 15 and 20): `clinic admin client export ID`
-- (daemon/svc_client_data.c). PostgreSQL writes the JSON; every section is an array in a stable
-- order (the client's own section an object), dates are RFC 3339 with their offset. Secrets never leave: no password hash, no token,
-- no calendar key. The function runs as its caller, so row-level security still applies: a
-- client exporting their own data gets what they may read (their signed notes, not drafts).

-- The audit rows about a client: those naming them, their appointments, notes, measures or
-- waitlist entries as the call's target, and the calls their own accounts made.
CREATE OR REPLACE FUNCTION clinic_client_audit(p_client bigint)
RETURNS TABLE (id bigint, at timestamptz, user_id bigint, role text, method text, target text,
               outcome text, request_id text)
LANGUAGE sql STABLE AS $$
    WITH targets AS (
        SELECT 'client:' || p_client AS t
        UNION ALL SELECT 'appointment:' || a.id FROM appointments a WHERE a.client_id = p_client
        UNION ALL SELECT 'note:' || n.id FROM treatment_notes n
                  JOIN appointments a ON a.id = n.appointment_id WHERE a.client_id = p_client
        UNION ALL SELECT 'measure:' || m.id FROM outcome_measures m WHERE m.client_id = p_client
        UNION ALL SELECT 'waitlist:' || w.id FROM waitlist_entries w WHERE w.client_id = p_client)
    SELECT x.id, x.at, x.user_id, x.role, x.method, x.target, x.outcome, x.request_id
    FROM (SELECT au.* FROM audit au JOIN targets ON au.target = targets.t
          UNION
          SELECT au.* FROM audit au JOIN users u ON u.id = au.user_id WHERE u.client_id = p_client) x
$$;

-- json, not jsonb, at the top: the sections keep this order (the client first, the audit last).
CREATE OR REPLACE FUNCTION clinic_client_export(p_client bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'format', 'clinicd client export, version 1',
        'exported_at', now(),
        'client', to_jsonb(c),
        'accounts', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', u.id, 'email', u.email, 'name', u.name, 'role', u.role,
                       'active', u.active, 'created_at', u.created_at, 'updated_at', u.updated_at)
                       ORDER BY u.id), '[]')
            FROM users u WHERE u.client_id = p_client),
        'appointments', (
            SELECT coalesce(jsonb_agg(to_jsonb(a) || jsonb_build_object(
                       'service', s.name, 'therapist', t.name, 'location', l.name,
                       'room', r.name, 'time_zone', l.time_zone)
                       ORDER BY a.start_at, a.id), '[]')
            FROM appointments a JOIN services s ON s.id = a.service_id
            JOIN therapists t ON t.id = a.therapist_id JOIN locations l ON l.id = a.location_id
            JOIN rooms r ON r.id = a.room_id
            WHERE a.client_id = p_client),
        'courses', (
            SELECT coalesce(jsonb_agg(to_jsonb(co) ORDER BY co.id), '[]')
            FROM courses co WHERE co.client_id = p_client),
        'treatment_notes', (
            SELECT coalesce(jsonb_agg(to_jsonb(n) || jsonb_build_object(
                       'author', t.name,
                       'amendments', (SELECT coalesce(jsonb_agg(to_jsonb(m) ORDER BY m.id), '[]')
                                      FROM note_amendments m WHERE m.note_id = n.id))
                       ORDER BY a.start_at, n.id), '[]')
            FROM treatment_notes n JOIN appointments a ON a.id = n.appointment_id
            JOIN therapists t ON t.id = n.author_therapist_id
            WHERE a.client_id = p_client),
        'intakes', (
            SELECT coalesce(jsonb_agg(to_jsonb(i) ORDER BY i.version), '[]')
            FROM client_intakes i WHERE i.client_id = p_client),
        'consents', (
            SELECT coalesce(jsonb_agg(to_jsonb(k) ORDER BY k.given_at, k.id), '[]')
            FROM client_consents k WHERE k.client_id = p_client),
        'outcome_measures', (
            SELECT coalesce(jsonb_agg(to_jsonb(m) ORDER BY m.id), '[]')
            FROM outcome_measures m WHERE m.client_id = p_client),
        'waitlist', (
            SELECT coalesce(jsonb_agg(to_jsonb(w) ORDER BY w.id), '[]')
            FROM waitlist_entries w WHERE w.client_id = p_client),
        'packages', (
            SELECT coalesce(jsonb_agg(to_jsonb(p) || jsonb_build_object(
                       'draws', (SELECT coalesce(jsonb_agg(to_jsonb(d) ORDER BY d.id), '[]')
                                 FROM package_draws d WHERE d.package_id = p.id))
                       ORDER BY p.id), '[]')
            FROM packages p WHERE p.client_id = p_client),
        'charges', (
            SELECT coalesce(jsonb_agg(to_jsonb(ch) ORDER BY ch.id), '[]')
            FROM charges ch WHERE ch.client_id = p_client),
        'receipts', (
            SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.location_id, r.number), '[]')
            FROM receipts r WHERE r.client_id = p_client),
        'messages', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', o.id, 'appointment_id', o.appointment_id, 'kind', o.kind,
                       'channel', o.channel, 'status', o.status, 'created_at', o.created_at,
                       'finished_at', o.finished_at) ORDER BY o.id), '[]')
            FROM outbox o WHERE o.client_id = p_client),
        'calendar_feed', (
            SELECT jsonb_build_object('rotated_at', f.rotated_at, 'rotated_by', f.rotated_by)
            FROM calendar_feeds f WHERE f.client_id = p_client),
        'audit', (
            SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.at, x.id), '[]')
            FROM clinic_client_audit(p_client) x))
    FROM clients c WHERE c.id = p_client
$$;

REVOKE ALL ON FUNCTION clinic_client_export(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION clinic_client_export(bigint) TO clinic_app;
