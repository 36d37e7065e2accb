#include "ledger/lmdb_env.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>
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

// The data files of the open environments, for FromMdb's messages. Its own
// mutex: FromMdb runs with registry_mu held too.
std::mutex open_paths_mu;
std::vector<std::string>& OpenPaths() {
  static auto* paths = new std::vector<std::string>;
  return *paths;
}

// ---- LMDB 0.9's on-disk layout (mdb.c), as CheckDataFile reads it ----------
// A page starts with MDB_page's header: pgno (8 bytes), pad (2), flags (2),
// lower/upper (2 + 2). Meta pages 0 and 1 (at offsets 0 and page size) go
// on with MDB_meta: magic, version (4 + 4), address, mapsize (8 + 8), the
// free-space and main MDB_db (48 each: pad = page size for the free DB,
// flags, depth, three page counts, entries, root), last_pg, txnid.
static_assert(sizeof(size_t) == 8 && std::endian::native == std::endian::little,
              "LMDB files are in the machine's layout; these offsets are x86-64's");
constexpr uint32_t kMdbMagic = 0xBEEFC0DE;
constexpr uint32_t kMdbDataVersion = 1;
constexpr uint16_t kPageBranch = 0x01, kPageLeaf = 0x02, kPageOverflow = 0x04, kPageMeta = 0x08;
constexpr uint64_t kNoPage = ~uint64_t{0};  // P_INVALID: an empty tree
constexpr size_t kPageHeaderBytes = 16;
constexpr size_t kMetaPageBytes = 152;  // header + MDB_meta: what LMDB itself reads first
constexpr uint64_t kMaxMapBytes = uint64_t{1} << 46;  // half the user address space
constexpr char kRestoreHint[] = "; restore it from a backup (README, Operations)";

template <typename T>
T LoadAt(const uint8_t* bytes, size_t offset) {
  T v;
  std::memcpy(&v, bytes + offset, sizeof v);
  return v;
}

struct Meta {
  uint64_t pgno = 0;
  uint16_t flags = 0;
  uint32_t magic = 0, version = 0;
  uint64_t map_size = 0;
  uint32_t page_size = 0;
  uint16_t db_flags[2] = {0, 0};  // free-space tree, main tree
  uint16_t depth[2] = {0, 0};
  uint64_t entries[2] = {0, 0};
  uint64_t root[2] = {0, 0};
  uint64_t last_page = 0, txnid = 0;
};

// The flags that change how LMDB reads a tree.
constexpr uint16_t kTreeShapeFlags =
    MDB_REVERSEKEY | MDB_DUPSORT | MDB_INTEGERKEY | MDB_DUPFIXED | MDB_INTEGERDUP | MDB_REVERSEDUP;
// A leaf node (MDB_node): data size (lo, hi: 2 + 2), flags (2), key size
// (2), then the key and the data. The main tree's leaves hold one node
// per named table, F_SUBDATA, whose data is the table's MDB_db.
constexpr size_t kNodeHeaderBytes = 8;
constexpr uint16_t kNodeSubData = 0x02;  // F_SUBDATA
constexpr size_t kDbRecordBytes = 48;    // sizeof(MDB_db)

Meta DecodeMeta(const uint8_t* b) {
  Meta m;
  m.pgno = LoadAt<uint64_t>(b, 0);
  m.flags = LoadAt<uint16_t>(b, 10);
  m.magic = LoadAt<uint32_t>(b, 16);
  m.version = LoadAt<uint32_t>(b, 20);
  m.map_size = LoadAt<uint64_t>(b, 32);
  m.page_size = LoadAt<uint32_t>(b, 40);
  for (int db = 0; db < 2; ++db) {
    const size_t at = 40 + 48 * static_cast<size_t>(db);
    m.db_flags[db] = LoadAt<uint16_t>(b, at + 4);
    m.depth[db] = LoadAt<uint16_t>(b, at + 6);
    m.entries[db] = LoadAt<uint64_t>(b, at + 32);
    m.root[db] = LoadAt<uint64_t>(b, at + 40);
  }
  m.last_page = LoadAt<uint64_t>(b, 136);
  m.txnid = LoadAt<uint64_t>(b, 144);
  return m;
}

// Reads exactly `n` bytes at `offset`; false at end of file (errno 0) or on
// an error (errno set).
bool PreadFull(int fd, void* buf, size_t n, uint64_t offset) {
  auto* out = static_cast<uint8_t*>(buf);
  while (n > 0) {
    ssize_t got = ::pread(fd, out, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      if (got == 0) errno = 0;
      return false;
    }
    out += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08" PRIx32, v);
  return buf;
}

// The checks of one meta page on its own.
std::string MetaProblem(const Meta& m, int i) {
  const std::string page = "meta page " + std::to_string(i);
  if ((m.flags & kPageMeta) == 0 || m.pgno != static_cast<uint64_t>(i)) {
    return "page " + std::to_string(i) + " is not an LMDB meta page";
  }
  if (m.magic != kMdbMagic) return page + " has magic " + Hex32(m.magic) + ", not LMDB's 0xbeefc0de";
  if (m.version != kMdbDataVersion) {
    return page + " has data format version " + std::to_string(m.version) +
           "; LMDB 0.9 reads version 1";
  }
  if (m.page_size < 512 || m.page_size > 65536 || (m.page_size & (m.page_size - 1)) != 0) {
    return page + " gives the page size " + std::to_string(m.page_size) +
           " (a power of two from 512 to 65536 expected)";
  }
  if (m.map_size > kMaxMapBytes) {
    return page + " gives a map size of " + std::to_string(m.map_size) + " bytes, more than can be mapped";
  }
  // LMDB writes meta page (txnid & 1): a fresh file has 0 in both.
  if (m.txnid != 0 && (m.txnid & 1) != static_cast<uint64_t>(i)) {
    return page + " holds transaction id " + std::to_string(m.txnid) +
           ", which LMDB never writes to that page (ids of parity " + std::to_string(i) + " only)";
  }
  if (m.last_page < 1 || m.last_page > kMaxMapBytes / m.page_size) {
    return page + " gives the last page " + std::to_string(m.last_page) + ", outside any file";
  }
  // The free-space tree is keyed by transaction id; the main tree holds
  // the named tables, which LMDB allows only in a plain main tree.
  if ((m.db_flags[0] & kTreeShapeFlags) != MDB_INTEGERKEY) {
    return page + " gives the free-space tree the flags " + Hex32(m.db_flags[0]) + " (integer keys only expected)";
  }
  if ((m.db_flags[1] & kTreeShapeFlags) != 0) {
    return page + " gives the main tree the flags " + Hex32(m.db_flags[1]) + " (none expected)";
  }
  return {};
}

// The checks of the main tree's root page when it is a leaf (a file with
// fewer than about 60 tables): one well-formed table record per entry.
std::string MainLeafProblem(const uint8_t* p, size_t page_size, uint64_t entries) {
  const uint16_t lower = LoadAt<uint16_t>(p, 12), upper = LoadAt<uint16_t>(p, 14);
  if (lower < kPageHeaderBytes || (lower - kPageHeaderBytes) % 2 != 0 || upper < lower || upper > page_size) {
    return "its free-space bounds " + std::to_string(lower) + ".." + std::to_string(upper) + " are impossible";
  }
  const size_t count = (lower - kPageHeaderBytes) / 2;
  if (count != entries) {
    return "it holds " + std::to_string(count) + " table records where the meta page counts " +
           std::to_string(entries);
  }
  for (size_t i = 0; i < count; ++i) {
    const size_t at = LoadAt<uint16_t>(p, kPageHeaderBytes + 2 * i);
    if (at < upper || at + kNodeHeaderBytes > page_size) return "record " + std::to_string(i) + " lies outside it";
    const uint32_t data_size = LoadAt<uint16_t>(p, at) | (uint32_t{LoadAt<uint16_t>(p, at + 2)} << 16);
    const uint16_t flags = LoadAt<uint16_t>(p, at + 4), key_size = LoadAt<uint16_t>(p, at + 6);
    if (flags != kNodeSubData || data_size != kDbRecordBytes || key_size == 0 ||
        at + kNodeHeaderBytes + key_size + kDbRecordBytes > page_size) {
      return "record " + std::to_string(i) + " is not a table record";
    }
  }
  return {};
}

// The checks of the free-space tree's root page when it is a leaf: every
// record a transaction id (8 bytes) and room for a list of page numbers (a
// count, then at most that many pages: 8 bytes each), or one too long for
// the page (then on overflow pages: its size a multiple of 8). LMDB trusts the count: a
// leaf of another tree read as this one asks it to allocate any size.
std::string FreeLeafProblem(const uint8_t* p, size_t page_size, uint64_t entries) {
  const uint16_t lower = LoadAt<uint16_t>(p, 12), upper = LoadAt<uint16_t>(p, 14);
  if (lower < kPageHeaderBytes || (lower - kPageHeaderBytes) % 2 != 0 || upper < lower || upper > page_size) {
    return "its free-space bounds " + std::to_string(lower) + ".." + std::to_string(upper) + " are impossible";
  }
  const size_t count = (lower - kPageHeaderBytes) / 2;
  if (count != entries) {
    return "it holds " + std::to_string(count) + " records where the meta page counts " + std::to_string(entries);
  }
  constexpr uint16_t kNodeBigData = 0x01;  // F_BIGDATA: the data is on overflow pages
  for (size_t i = 0; i < count; ++i) {
    const size_t at = LoadAt<uint16_t>(p, kPageHeaderBytes + 2 * i);
    if (at < upper || at + kNodeHeaderBytes > page_size) return "record " + std::to_string(i) + " lies outside it";
    const uint32_t data_size = LoadAt<uint16_t>(p, at) | (uint32_t{LoadAt<uint16_t>(p, at + 2)} << 16);
    const uint16_t flags = LoadAt<uint16_t>(p, at + 4), key_size = LoadAt<uint16_t>(p, at + 6);
    const std::string record = "record " + std::to_string(i);
    if (key_size != 8 || (flags & ~kNodeBigData) != 0 || data_size < 8 || data_size % 8 != 0) {
      return record + " is not a transaction's free pages";
    }
    if (flags & kNodeBigData) continue;  // its pages are on overflow pages, counted there
    if (at + kNodeHeaderBytes + 8 + data_size > page_size) return record + " lies outside it";
    // LMDB reserves room and may fill less of it (a count of 0 in a larger
    // record is normal); a count beyond the room never is.
    const uint64_t pages = LoadAt<uint64_t>(p, at + kNodeHeaderBytes + 8);
    if (pages > data_size / 8 - 1) {
      return record + " counts " + std::to_string(pages) + " free pages in room for " +
             std::to_string(data_size / 8 - 1);
    }
  }
  return {};
}

// One pass of CheckDataFile; `transient` is set when the failure could be a
// meta page caught half-written by another process.
Result<DataFileInfo> CheckDataFileOnce(int fd, const std::string& path, bool* transient) {
  *transient = false;
  struct stat st;
  if (::fstat(fd, &st) != 0) return IoError("cannot stat " + path + ": " + ErrnoText(errno));
  DataFileInfo info;
  info.file_size = static_cast<uint64_t>(st.st_size);
  const std::string size_text = std::to_string(info.file_size);
  if (info.file_size == 0) {
    return Corruption(path + " is empty (0 bytes): it holds no ledger" + kRestoreHint);
  }
  auto truncated = [&](uint64_t end, std::string_view what) {
    return Corruption(path + " is " + size_text + " bytes but " + std::string(what) + " ends at byte " +
                      std::to_string(end) + ": the file is truncated" + kRestoreHint);
  };
  auto damaged = [&](const std::string& why) {
    return Corruption(path + " is damaged (or not an LMDB file): " + why + kRestoreHint);
  };
  auto read_failed = [&](uint64_t offset) {
    return IoError("cannot read " + path + " at byte " + std::to_string(offset) + ": " +
                   ErrnoText(errno));
  };

  uint8_t buf[kMetaPageBytes];
  Meta metas[2];
  auto too_short = [&] {
    return Corruption(path + " is " + size_text + " bytes, shorter than an LMDB meta page: not an LMDB file, " +
                      "or truncated" + kRestoreHint);
  };
  if (info.file_size < kMetaPageBytes) return too_short();
  if (!PreadFull(fd, buf, sizeof buf, 0)) {
    if (errno == 0) return too_short();
    return read_failed(0);
  }
  metas[0] = DecodeMeta(buf);
  if (std::string why = MetaProblem(metas[0], 0); !why.empty()) {
    *transient = true;
    return damaged(why);
  }
  const uint64_t page_size = metas[0].page_size;
  if (info.file_size < page_size + kMetaPageBytes) {
    return truncated(2 * page_size, "its second meta page");
  }
  if (!PreadFull(fd, buf, sizeof buf, page_size)) {
    if (errno == 0) return truncated(2 * page_size, "its second meta page");
    return read_failed(page_size);
  }
  metas[1] = DecodeMeta(buf);
  *transient = true;  // from here on, a meta page may have changed under us
  if (std::string why = MetaProblem(metas[1], 1); !why.empty()) return damaged(why);
  if (metas[1].page_size != page_size) {
    return damaged("the meta pages give the page sizes " + std::to_string(page_size) + " and " +
                   std::to_string(metas[1].page_size));
  }
  const uint64_t t0 = metas[0].txnid, t1 = metas[1].txnid;
  if (!(t0 == 0 && t1 == 0) && (t0 > t1 ? t0 - t1 : t1 - t0) != 1) {
    return damaged("the meta pages hold transaction ids " + std::to_string(t0) + " and " +
                   std::to_string(t1) + "; LMDB writes them in turn, so they differ by one");
  }
  // LMDB uses the meta page with the higher transaction id (page 0 on a tie).
  info.meta = t1 > t0 ? 1 : 0;
  const Meta& m = metas[info.meta];
  // LMDB 0.9 never gives pages back to the file system: a newer commit
  // ends at or after an older one. Past its end LMDB would see live pages
  // as free, and a writer would overwrite them.
  if (m.last_page < metas[1 - info.meta].last_page) {
    return damaged("meta page " + std::to_string(info.meta) + " (the newer) ends at page " +
                   std::to_string(m.last_page) + ", before the older meta page's " +
                   std::to_string(metas[1 - info.meta].last_page));
  }
  info.page_size = m.page_size;
  info.last_page = m.last_page;
  info.txnid = m.txnid;
  const std::string page = "meta page " + std::to_string(info.meta);
  static const char* const kTreeName[2] = {"free-space", "main"};
  for (int db = 0; db < 2; ++db) {
    if (m.root[db] == kNoPage) continue;
    if (m.root[db] < 2 || m.root[db] > m.last_page) {
      return damaged(page + " puts the " + kTreeName[db] + " tree's root at page " +
                     std::to_string(m.root[db]) + ", outside the committed pages 2.." +
                     std::to_string(m.last_page));
    }
  }
  const uint64_t end = (m.last_page + 1) * page_size;
  if (info.file_size < end) {
    *transient = false;  // LMDB never shrinks a file: no writer explains this
    return truncated(end, "its last committed page");
  }
  for (int db = 0; db < 2; ++db) {
    if (m.root[db] == kNoPage) continue;
    uint8_t header[kPageHeaderBytes];
    if (!PreadFull(fd, header, sizeof header, m.root[db] * page_size)) return read_failed(m.root[db] * page_size);
    const uint64_t pgno = LoadAt<uint64_t>(header, 0);
    const uint16_t flags = LoadAt<uint16_t>(header, 10);
    const uint16_t kind = flags & (kPageBranch | kPageLeaf);
    const std::string root = "page " + std::to_string(m.root[db]) + ", the " + kTreeName[db] + " tree's root,";
    if (pgno != m.root[db]) return damaged(root + " holds the number of page " + std::to_string(pgno));
    if ((kind != kPageBranch && kind != kPageLeaf) || (flags & (kPageOverflow | kPageMeta)) != 0) {
      return damaged(root + " is not a tree page (flags " + Hex32(flags) + ")");
    }
    const uint16_t depth = m.depth[db];
    if (depth < 1 || depth > 64 || (kind == kPageLeaf) != (depth == 1)) {
      return damaged(page + " gives the " + kTreeName[db] + " tree the depth " + std::to_string(depth) +
                     " but its root page is a " + (kind == kPageLeaf ? "leaf" : "branch"));
    }
    if (kind == kPageLeaf) {
      std::vector<uint8_t> leaf(page_size);
      if (!PreadFull(fd, leaf.data(), leaf.size(), m.root[db] * page_size)) {
        return read_failed(m.root[db] * page_size);
      }
      if (db == 1) {
        if (std::string why = MainLeafProblem(leaf.data(), page_size, m.entries[db]); !why.empty()) {
          return damaged(root + " is not a list of tables: " + why);
        }
      } else if (std::string why = FreeLeafProblem(leaf.data(), page_size, m.entries[db]); !why.empty()) {
        return damaged(root + " is not a list of free pages: " + why);
      }
    }
  }
  return info;
}

// ---- LMDB 0.9's lock file (mdb.c, MDB_txninfo), as CheckLockFile reads it --
// Two cache-line blocks (magic, format, reader mutex, txnid, reader count;
// then the writer mutex), then 64-byte reader slots: a file of 128 + 64 × N
// bytes holds N slots.
constexpr uint64_t kLockHeaderBytes = 128;
constexpr uint64_t kReaderSlotBytes = 64;
constexpr size_t kLockNumReadersOffset = 56;  // after magic, format, mutex (40), txnid

// ---- The map-range table ----------------------------------------------------
// Fixed storage, so the fault handler reads it without allocating or
// locking. `used` is claimed and released under registry_mu; a slot's
// range is published by storing `begin` last (0 while it changes).
struct MapSlot {
  bool used = false;
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  char path[4096] = {};
};
static_assert(std::atomic<uintptr_t>::is_always_lock_free);
constexpr int kMapSlots = 32;
MapSlot map_slots[kMapSlots];

// Claims a slot for the range [begin, end) of `path` (registry_mu held);
// -1 if the table is full (that map is then not recognised by the fault
// handler: a fault there crashes as it would without it).
int ClaimMapSlot(const std::string& path, uintptr_t begin, uintptr_t end) {
  for (int i = 0; i < kMapSlots; ++i) {
    MapSlot& slot = map_slots[i];
    if (slot.used) continue;
    slot.used = true;
    const size_t n = std::min(path.size(), sizeof slot.path - 1);
    std::memcpy(slot.path, path.data(), n);
    slot.path[n] = '\0';
    slot.end.store(end, std::memory_order_release);
    slot.begin.store(begin, std::memory_order_release);
    return i;
  }
  return -1;
}

void ReleaseMapSlot(int i) {  // registry_mu held
  map_slots[i].begin.store(0, std::memory_order_release);
  map_slots[i].used = false;
}

// A mapping of a file, as /proc/self/maps lists it.
struct FileMapping {
  uintptr_t begin = 0, end = 0;
  uint64_t dev = 0, ino = 0;
};

// LMDB does not say where it mapped its files (mdb_env_info's me_mapaddr
// is only the fixed address a meta page asks for): the kernel's list does.
std::vector<FileMapping> FileMappings() {
  std::vector<FileMapping> out;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long long lo = 0, hi = 0, offset = 0, inode = 0;
    unsigned dev_major = 0, dev_minor = 0;
    char perms[8];
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu", &lo, &hi, perms, &offset, &dev_major,
                    &dev_minor, &inode) == 7 &&
        inode != 0) {
      out.push_back({static_cast<uintptr_t>(lo), static_cast<uintptr_t>(hi),
                     static_cast<uint64_t>(makedev(dev_major, dev_minor)), static_cast<uint64_t>(inode)});
    }
  }
  return out;
}

}  // namespace

Result<DataFileInfo> CheckDataFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return NotFound("LMDB file " + path + " does not exist");
    return IoError("cannot open " + path + ": " + ErrnoText(err));
  }
  Result<DataFileInfo> result = IoError("not checked");
  for (int attempt = 0;; ++attempt) {
    bool transient = false;
    result = CheckDataFileOnce(fd, path, &transient);
    if (result.ok() || !transient || attempt == 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::close(fd);
  return result;
}

Status CheckLockFile(const std::string& lock_path) {
  const int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Ok();
    return IoError("cannot open " + lock_path + ": " + ErrnoText(errno));
  }
  // Every process with the environment open holds a read lock on byte 0;
  // LMDB rebuilds the file only when it can take a write lock there.
  struct flock probe = {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 1;
  struct stat st;
  Status status;
  if (::fcntl(fd, F_GETLK, &probe) != 0) {
    status = IoError("cannot query the locks of " + lock_path + ": " + ErrnoText(errno));
  } else if (probe.l_type == F_UNLCK) {
    status = Status::Ok();
  } else if (::fstat(fd, &st) != 0) {
    status = IoError("cannot stat " + lock_path + ": " + ErrnoText(errno));
  } else {
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    std::string why;
    uint8_t header[64];
    if (size < kLockHeaderBytes + kReaderSlotBytes || (size - kLockHeaderBytes) % kReaderSlotBytes != 0) {
      why = "it is " + std::to_string(size) + " bytes, not a reader table's 128 + 64 × N";
    } else if (!PreadFull(fd, header, sizeof header, 0)) {
      why = "it cannot be read";
    } else if (LoadAt<uint32_t>(header, 0) != kMdbMagic) {
      why = "it has magic " + Hex32(LoadAt<uint32_t>(header, 0)) + ", not LMDB's 0xbeefc0de";
    } else if (const uint32_t readers = LoadAt<uint32_t>(header, kLockNumReadersOffset);
               readers > (size - kLockHeaderBytes) / kReaderSlotBytes) {
      why = "it counts " + std::to_string(readers) + " readers but has room for " +
            std::to_string((size - kLockHeaderBytes) / kReaderSlotBytes);
    }
    if (!why.empty()) {
      status = Corruption(lock_path + " is damaged (" + why + ") while pid " + std::to_string(probe.l_pid) +
                          " has the ledger open: stop that process and run the command again (LMDB "
                          "rebuilds the lock file when no process has the ledger open)");
    }
  }
  ::close(fd);
  return status;
}

const char* MappedFileAt(const void* addr) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  for (const MapSlot& slot : map_slots) {
    const uintptr_t begin = slot.begin.load(std::memory_order_acquire);
    if (begin != 0 && a >= begin && a < slot.end.load(std::memory_order_acquire)) return slot.path;
  }
  return nullptr;
}

Status FromMdb(int rc, std::string_view what) {
  if (rc == 0) return Status::Ok();
  std::string message = std::string(what) + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_NOTFOUND:
      return NotFound(std::move(message));
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND: {
      std::lock_guard<std::mutex> lock(open_paths_mu);
      const std::string file = OpenPaths().size() == 1 ? OpenPaths()[0] : "the LMDB file";
      return Corruption(std::move(message) + ": " + file +
                        " is damaged; run quipu audit, restore it from a backup (README, Operations)");
    }
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
  // LMDB would map a short or damaged file and fault on reading it: check
  // it first. An empty file is a new environment, for a writer only.
  if (st.st_size > 0 || options.read_only) {
    QUIPU_RETURN_IF_ERROR(CheckDataFile(path).status());
  }
  const std::string lock_path = path + "-lock";
  QUIPU_RETURN_IF_ERROR(CheckLockFile(lock_path));
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
  std::unique_ptr<Env> opened(new Env(env, path, options.read_only, key.first, key.second));
  opened->RecordMaps();
  std::lock_guard<std::mutex> paths_lock(open_paths_mu);
  OpenPaths().push_back(path);
  return opened;
}

Env::~Env() {
  std::lock_guard<std::mutex> lock(registry_mu);
  for (int slot : map_slots_) ReleaseMapSlot(slot);
  mdb_env_close(env_);
  Registry().erase({dev_, ino_});
  std::lock_guard<std::mutex> paths_lock(open_paths_mu);
  auto& paths = OpenPaths();
  if (auto it = std::find(paths.begin(), paths.end(), path_); it != paths.end()) paths.erase(it);
}

void Env::RecordMaps() {  // registry_mu held
  for (int slot : map_slots_) ReleaseMapSlot(slot);
  map_slots_.clear();
  const std::string lock_path = path_ + "-lock";
  struct stat lock_st;
  const bool has_lock = ::stat(lock_path.c_str(), &lock_st) == 0;
  for (const FileMapping& m : FileMappings()) {
    const bool data = m.dev == dev_ && m.ino == ino_;
    const bool lock = has_lock && m.dev == static_cast<uint64_t>(lock_st.st_dev) &&
                      m.ino == static_cast<uint64_t>(lock_st.st_ino);
    if (!data && !lock) continue;
    if (int slot = ClaimMapSlot(data ? path_ : lock_path, m.begin, m.end); slot >= 0) {
      map_slots_.push_back(slot);
    }
  }
}

size_t Env::MapSize() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

Status Env::SetMapSize(size_t bytes) {
  Status status = FromMdb(mdb_env_set_mapsize(env_, bytes), "set map size of " + path_);
  std::lock_guard<std::mutex> lock(registry_mu);
  RecordMaps();  // LMDB maps the file anew, maybe elsewhere
  return status;
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
