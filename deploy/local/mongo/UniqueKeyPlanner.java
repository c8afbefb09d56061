// Query planning the way MongoDB plans it, for the one case mongo-java-server leaves out.
//
// mongo-java-server uses a unique index only when a query's keys are exactly the index's keys:
// {_id: x} is a point read, but {_id: x, state: "pending"} (a conditional claim, an optimistic
// write) scans the whole collection. MongoDB bounds such a query by the index and filters the
// candidates. This does the same: when a query pins every key of a unique, non-sparse index among
// other conditions, the index gives the candidate positions and the whole query is then matched
// against each candidate, so the result is the scan's result (tests/local/test_mongo_planner.py).

import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.bson.Document;

import java.util.List;

final class UniqueKeyPlanner {
    private UniqueKeyPlanner() {
    }

    /** The candidate positions for query, or null where the library's own planning applies. */
    static <P> Iterable<P> candidates(List<Index<P>> indexes, Document query) {
        if (query == null || query.size() < 2) {
            return null;
        }
        for (Index<P> index : indexes) {
            // a sparse index leaves out documents without its keys, which {key: null} matches
            if (!index.isUnique() || index.toIndexDescription().containsKey("sparse")) {
                continue;
            }
            Document pinned = pinned(index, query);
            if (pinned != null && pinned.size() < query.size() && index.canHandle(pinned)) {
                return index.getPositions(pinned);
            }
        }
        return null;
    }

    /** The query's conditions on the index's keys, or null when it leaves one of them open. */
    private static Document pinned(Index<?> index, Document query) {
        Document pinned = new Document();
        for (IndexKey key : index.getKeys()) {
            if (!query.containsKey(key.getKey())) {
                return null;
            }
            pinned.put(key.getKey(), query.get(key.getKey()));
        }
        return pinned;
    }
}
