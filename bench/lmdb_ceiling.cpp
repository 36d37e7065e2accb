// The ceiling `bench/compare-ledger.sh` measures quipu's append against:
// the same entry bytes written straight into LMDB, the same batch size and
// the same sync, with nothing else (no hashing, no index, no signing).
//
// usage: lmdb_ceiling --batch N --sync full|none ENTRIES_FILE DIR
// Each line of ENTRIES_FILE is stored as one value, padded with the bytes
// quipu's sequencer adds (time and version), keys 0, 1, 2, ... (MDB_APPEND).
// Prints "<entries> entries in <seconds> s: <rate> entries/s".
#include <lmdb.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

int Die(const std::string& what, int rc) {
  std::cerr << "lmdb_ceiling: " << what << ": " << mdb_strerror(rc) << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  size_t batch = 1024;
  bool sync = true;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--batch" && i + 1 < argc) {
      batch = std::stoul(argv[++i]);
    } else if (a == "--sync" && i + 1 < argc) {
      sync = std::string(argv[++i]) == "full";
    } else {
      pos.push_back(a);
    }
  }
  if (pos.size() != 2 || batch == 0) {
    std::cerr << "usage: lmdb_ceiling --batch N --sync full|none ENTRIES_FILE DIR\n";
    return 2;
  }
  std::vector<std::string> entries;
  {
    std::ifstream in(pos[0]);
    // `"time":"2026-11-23T04:05:06.123456Z",` and `,"v":1`: 44 bytes.
    for (std::string line; std::getline(in, line);) entries.push_back(line + std::string(44, ' '));
  }
  ::mkdir(pos[1].c_str(), 0700);
  MDB_env* env;
  mdb_env_create(&env);
  mdb_env_set_maxdbs(env, 4);
  mdb_env_set_mapsize(env, size_t{16} << 30);
  const unsigned flags = MDB_NOSUBDIR | (sync ? 0u : MDB_NOSYNC | MDB_NOMETASYNC);
  if (int rc = mdb_env_open(env, (pos[1] + "/ceiling.mdb").c_str(), flags, 0600)) return Die("open", rc);
  MDB_dbi dbi;
  {
    MDB_txn* txn;
    mdb_txn_begin(env, nullptr, 0, &txn);
    if (int rc = mdb_dbi_open(txn, "entries", MDB_CREATE, &dbi)) return Die("dbi", rc);
    mdb_txn_commit(txn);
  }
  const auto start = std::chrono::steady_clock::now();
  uint64_t index = 0;
  while (index < entries.size()) {
    MDB_txn* txn;
    if (int rc = mdb_txn_begin(env, nullptr, 0, &txn)) return Die("begin", rc);
    for (size_t i = 0; i < batch && index < entries.size(); ++i, ++index) {
      unsigned char key[8];
      for (int b = 0; b < 8; ++b) key[b] = static_cast<unsigned char>(index >> (56 - 8 * b));
      MDB_val k{8, key}, v{entries[index].size(), entries[index].data()};
      if (int rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND)) return Die("put", rc);
    }
    if (int rc = mdb_txn_commit(txn)) return Die("commit", rc);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu entries in %.3f s: %.0f entries/s\n", entries.size(), secs,
              static_cast<double>(entries.size()) / secs);
  mdb_env_close(env);
  return 0;
}
