select 'e1'::text as knack_id, now() as created_at, now() as modified_at, now() as first_seen_at, now() as last_seen_at, null::timestamptz as deleted_at, false as is_deleted, '1764600000.000001'::text as load_id,
 'School A'::text as name, 'Active'::text as status, 'Coaching'::text as portal_type, 'Australia'::text as country, 'a.org'::text as email_domain
