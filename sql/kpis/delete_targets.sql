-- Forget the targets before reference/targets.csv is loaded again.
delete from targets
