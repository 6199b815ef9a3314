-- A Parquet file's columns, to match its header against the contract.
describe select * from read_parquet(?)
