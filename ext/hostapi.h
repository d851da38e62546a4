/*
** hostapi.h: every entry of SQLite's routine table (sqlite3_api_routines)
** that the extension calls.
**
** A loadable extension calls SQLite through that table (sqlite3ext.h
** turns sqlite3_step() into sqlite3_api->step()), and SQLite built with
** some SQLITE_OMIT_* options leaves entries NULL: calling one crashes the
** host. sqlite3_cancel_init() checks every entry listed here before it
** uses any, and refuses to load, naming the missing ones, instead
** (ext/cancel.c). test/hostapi.test checks that the list names every
** sqlite3_ call in the ext/ sources; test/hostapi.c loads the extension with each
** entry taken away in turn.
**
**   X(name, minimum SQLite version, the compile option that leaves it NULL)
**
** An entry with a minimum version is called only behind a runtime check
** of the loaded SQLite's version (older tables end before it), and is
** checked only there.
*/
#ifndef CANCEL_HOSTAPI_H
#define CANCEL_HOSTAPI_H

#if SQLITE_VERSION_NUMBER>=3044000
# define CANCEL_API_3044(X) X(set_clientdata, 3044000, 0)
#else
# define CANCEL_API_3044(X)
#endif

#define CANCEL_API_LIST(X) \
  X(backup_finish, 0, 0) \
  X(backup_init, 0, 0) \
  X(backup_pagecount, 0, 0) \
  X(backup_remaining, 0, 0) \
  X(backup_step, 0, 0) \
  X(bind_null, 0, 0) \
  X(bind_text, 0, 0) \
  X(busy_handler, 0, 0) \
  X(close, 0, 0) \
  X(column_bytes, 0, 0) \
  X(column_count, 0, 0) \
  X(column_double, 0, 0) \
  X(column_int, 0, 0) \
  X(column_text, 0, 0) \
  X(column_type, 0, 0) \
  X(commit_hook, 0, 0) \
  X(create_collation_v2, 0, 0) \
  X(complete, 0, "SQLITE_OMIT_COMPLETE") \
  X(context_db_handle, 0, 0) \
  X(create_function, 0, 0) \
  X(create_function_v2, 0, 0) \
  X(create_module_v2, 0, "SQLITE_OMIT_VIRTUALTABLE") \
  X(db_filename, 0, 0) \
  X(data_count, 0, 0) \
  X(db_mutex, 0, 0) \
  X(declare_vtab, 0, "SQLITE_OMIT_VIRTUALTABLE") \
  X(errcode, 0, 0) \
  X(errmsg, 0, 0) \
  X(errstr, 0, 0) \
  X(exec, 0, 0) \
  X(finalize, 0, 0) \
  X(free, 0, 0) \
  X(get_autocommit, 0, 0) \
  X(interrupt, 0, 0) \
  X(libversion, 0, 0) \
  X(libversion_number, 0, 0) \
  X(log, 0, 0) \
  X(malloc, 0, 0) \
  X(malloc64, 0, 0) \
  X(mprintf, 0, 0) \
  X(mutex_enter, 0, "SQLITE_MUTEX_OMIT") \
  X(mutex_leave, 0, "SQLITE_MUTEX_OMIT") \
  X(mutex_try, 0, "SQLITE_MUTEX_OMIT") \
  X(next_stmt, 0, 0) \
  X(open_v2, 0, 0) \
  X(prepare_v2, 0, 0) \
  X(progress_handler, 0, "SQLITE_OMIT_PROGRESS_CALLBACK") \
  X(realloc, 0, 0) \
  X(realloc64, 0, 0) \
  X(reset, 0, 0) \
  X(result_double, 0, 0) \
  X(result_error, 0, 0) \
  X(result_error_code, 0, 0) \
  X(result_error_nomem, 0, 0) \
  X(result_int, 0, 0) \
  X(result_int64, 0, 0) \
  X(result_subtype, 0, 0) \
  X(result_text, 0, 0) \
  X(set_authorizer, 0, "SQLITE_OMIT_AUTHORIZATION") \
  X(sql, 0, 0) \
  X(step, 0, 0) \
  X(stmt_busy, 0, 0) \
  X(stmt_readonly, 0, 0) \
  X(stmt_status, 0, 0) \
  X(str_appendchar, 0, 0) \
  X(str_appendf, 0, 0) \
  X(str_finish, 0, 0) \
  X(str_new, 0, 0) \
  X(stricmp, 0, 0) \
  X(strnicmp, 0, 0) \
  X(trace_v2, 0, "SQLITE_OMIT_TRACE") \
  X(txn_state, 0, 0) \
  X(uri_boolean, 0, 0) \
  X(user_data, 0, 0) \
  X(value_bytes, 0, 0) \
  X(value_double, 0, 0) \
  X(value_int64, 0, 0) \
  X(value_nochange, 0, 0) \
  X(value_numeric_type, 0, 0) \
  X(value_text, 0, 0) \
  X(value_type, 0, 0) \
  X(vtab_config, 0, "SQLITE_OMIT_VIRTUALTABLE") \
  X(vtab_nochange, 0, 0) \
  CANCEL_API_3044(X)

#endif /* CANCEL_HOSTAPI_H */
