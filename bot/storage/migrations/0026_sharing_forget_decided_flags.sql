-- A post that was posted or not posted keeps nothing about what was in it: besides its words
-- (already cleared then), the flags the checks found (a blocked term, crisis language) and the
-- care hold go too. Only ids, the pseudonym and the ban key remain.
UPDATE sharing_posts SET flags = '[]', held_for_care = 0 WHERE status IN ('posted', 'rejected');
