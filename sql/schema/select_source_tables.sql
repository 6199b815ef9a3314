-- The tables of an attached database.
select table_name
from information_schema.tables
where table_catalog = $catalog and table_schema = 'main'
