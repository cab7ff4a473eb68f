select 't1'::text as knack_id, now() as created_at, now() as modified_at, now() as first_seen_at, now() as last_seen_at, null::timestamptz as deleted_at, false as is_deleted,
 'T@a.org'::text as email, 'Tee'::text as name_full, 'tutor'::text as role, array['e1']::text[] as school_ids
