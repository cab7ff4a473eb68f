select 's1'::text as knack_id, now() as created_at, now() as modified_at, now() as first_seen_at, now() as last_seen_at, null::timestamptz as deleted_at, false as is_deleted,
 'x@a.org'::text as email, 'X'::text as name_first, 'Y'::text as name_last, '12'::text as year_group, array['e1']::text[] as school_ids, '2025-03-10'::date as upload_local_date, array['t1']::text[] as tutors_ids
