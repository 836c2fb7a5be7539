-- Store one result record. KEYS: the record's 10 (see save_record). ARGV: save_record's 7.
save_record(0, ARGV)
return 1
