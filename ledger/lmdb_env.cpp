#include "ledger/lmdb_env.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <utility>

namespace quipu::ledger::lmdb {
namespace {

// The environments open in this process, by (device, inode) of the data
// file: LMDB forbids opening one file twice in a process.
std::mutex registry_mu;
std::set<std::pair<uint64_t, uint64_t>>& Registry() {
  static auto* registry = new std::set<std::pair<uint64_t, uint64_t>>;
  return *registry;
}

// A forked child inherits the parent's registry, but lmdb.h forbids using
// an MDB_env after fork(): the child starts with none of its own.
void ClearRegistryInChild() { Registry().clear(); }
std::once_flag atfork_once;

std::string ErrnoText(int err) { return std::string(mdb_strerror(err)); }

}  // namespace

Status FromMdb(int rc, std::string_view what) {
  if (rc == 0) return Status::Ok();
  std::string message = std::string(what) + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_NOTFOUND:
      return NotFound(std::move(message));
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      return Corruption(std::move(message));
    case MDB_MAP_FULL:
      return Unavailable(std::move(message));
    default:
      return IoError(std::move(message));
  }
}

Result<std::unique_ptr<Env>> Env::Open(const std::string& path, const EnvOptions& options) {
  std::call_once(atfork_once, [] { pthread_atfork(nullptr, nullptr, ClearRegistryInChild); });
  std::lock_guard<std::mutex> lock(registry_mu);

  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT && options.read_only) {
      return NotFound("LMDB file " + path + " does not exist");
    }
    if (err != ENOENT) return IoError("cannot stat " + path + ": " + ErrnoText(err));
    // A writer creates the (empty) file first, so the registry can key it by
    // inode; LMDB initialises an empty file as a new environment.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return IoError("cannot create " + path + ": " + ErrnoText(errno));
    ::close(fd);
    if (::stat(path.c_str(), &st) != 0) {
      return IoError("cannot stat " + path + ": " + ErrnoText(errno));
    }
  }
  if (!S_ISREG(st.st_mode)) return IoError("LMDB file " + path + " is not a regular file");
  auto key = std::make_pair(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
  if (Registry().count(key) != 0) {
    return Unavailable("LMDB file " + path +
                       " is already open in this process (LMDB allows one environment "
                       "per file per process; share the open Store)");
  }

  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) return FromMdb(rc, "mdb_env_create");
  auto fail = [&](int code, std::string_view what) {
    mdb_env_close(env);
    return FromMdb(code, std::string(what) + " " + path);
  };
  if ((rc = mdb_env_set_maxdbs(env, options.max_dbs)) != 0) return fail(rc, "set_maxdbs");
  if ((rc = mdb_env_set_maxreaders(env, options.max_readers)) != 0) {
    return fail(rc, "set_maxreaders");
  }
  // A new file starts at the configured size. For an existing one, 0 adopts
  // the size recorded in the file (a previous run may have grown it), and a
  // writer then raises it to the configured size if that is larger.
  const bool new_file = st.st_size == 0 && !options.read_only;
  if ((rc = mdb_env_set_mapsize(env, new_file ? options.map_size : 0)) != 0) {
    return fail(rc, "set_mapsize");
  }
  unsigned flags = MDB_NOSUBDIR | MDB_NOTLS;
  if (options.read_only) flags |= MDB_RDONLY;
  if (options.no_sync) flags |= MDB_NOSYNC | MDB_NOMETASYNC;
  if ((rc = mdb_env_open(env, path.c_str(), flags, 0600)) != 0) {
    if (rc == MDB_INVALID) {
      mdb_env_close(env);
      return Corruption("cannot open " + path + ": not an LMDB file (" + mdb_strerror(rc) + ")");
    }
    return fail(rc, "cannot open LMDB file");
  }
  if (!options.read_only) {
    MDB_envinfo info;
    mdb_env_info(env, &info);
    if (info.me_mapsize < options.map_size &&
        (rc = mdb_env_set_mapsize(env, options.map_size)) != 0) {
      return fail(rc, "set_mapsize");
    }
  }
  Registry().insert(key);
  return std::unique_ptr<Env>(new Env(env, path, options.read_only, key.first, key.second));
}

Env::~Env() {
  mdb_env_close(env_);
  std::lock_guard<std::mutex> lock(registry_mu);
  Registry().erase({dev_, ino_});
}

size_t Env::MapSize() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

Status Env::SetMapSize(size_t bytes) {
  return FromMdb(mdb_env_set_mapsize(env_, bytes), "set map size of " + path_);
}

Status Env::CopyCompact(const std::string& dest_file) {
  int fd = ::open(dest_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    std::string message = "cannot create backup file " + dest_file + ": " + ErrnoText(err);
    if (err == EEXIST) return AlreadyExists(std::move(message));
    return IoError(std::move(message));
  }
  Status status = FromMdb(mdb_env_copyfd2(env_, fd, MDB_CP_COMPACT),
                          "copy " + path_ + " to " + dest_file);
  if (status.ok() && ::fsync(fd) != 0) {
    status = IoError("fsync of backup file " + dest_file + ": " + ErrnoText(errno));
  }
  if (::close(fd) != 0 && status.ok()) {
    status = IoError("close of backup file " + dest_file + ": " + ErrnoText(errno));
  }
  if (!status.ok()) ::unlink(dest_file.c_str());
  return status;
}

Result<ReadTxn> ReadTxn::Begin(const Env& env, int* rc_out) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env.get(), nullptr, MDB_RDONLY, &txn);
  if (rc_out != nullptr) *rc_out = rc;
  if (rc != 0) return FromMdb(rc, "begin read transaction on " + env.path());
  return ReadTxn(txn);
}

Result<WriteTxn> WriteTxn::Begin(const Env& env) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env.get(), nullptr, 0, &txn);
  if (rc != 0) return FromMdb(rc, "begin write transaction on " + env.path());
  return WriteTxn(txn);
}

Status Txn::Commit(int* rc_out) {
  if (txn_ == nullptr) return Internal("commit of a finished transaction");
  int rc = mdb_txn_commit(txn_);  // frees the handle even on failure
  txn_ = nullptr;
  if (rc_out != nullptr) *rc_out = rc;
  return FromMdb(rc, "commit");
}

Result<MDB_dbi> OpenDb(const Txn& txn, const char* name, unsigned flags, bool create) {
  MDB_dbi dbi = 0;
  int rc = mdb_dbi_open(txn.get(), name, flags | (create ? MDB_CREATE : 0), &dbi);
  if (rc != 0) return FromMdb(rc, std::string("open table ") + name);
  return dbi;
}

Result<Cursor> Cursor::Open(const Txn& txn, MDB_dbi dbi) {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(txn.get(), dbi, &c);
  if (rc != 0) return FromMdb(rc, "open cursor");
  return Cursor(c);
}

}  // namespace quipu::ledger::lmdb
