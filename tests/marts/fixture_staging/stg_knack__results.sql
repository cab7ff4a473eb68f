select 'r1'::text as knack_id, now() as created_at, now() as modified_at, now() as first_seen_at, now() as last_seen_at, null::timestamptz as deleted_at, false as is_deleted, '1764600000.000001'::text as load_id,
 'X@a.org '::text as student_email, array['e1']::text[] as school_ids, 1::numeric as cycle, 5::numeric as vision, 5::numeric as effort, 5::numeric as systems, 5::numeric as practice, 5::numeric as attitude, 5::numeric as overall,
 '2025-03-10 10:00+00'::timestamptz as completed, '2025-03-10'::date as completed_local_date
