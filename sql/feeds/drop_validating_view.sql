-- The validating view goes once the suite has judged the batch.
drop view if exists oemkpi_validating
