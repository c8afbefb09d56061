// mongo-java-server's H2 (MVStore) backend, with UniqueKeyPlanner narrowing its queries.
// The map names repeat H2Database's ("databases." + namespace, "meta." + namespace) so a file
// written by the plain backend opens here and the other way round.

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

final class PlannedH2Backend extends H2Backend {
    PlannedH2Backend(String fileName) {
        super(fileName);
    }

    @Override
    protected MongoDatabase openOrCreateDatabase(String databaseName) {
        return new Database(databaseName, getCursorRegistry());
    }

    // An inner class: H2Database's constructor opens collections before a field of a subclass
    // could be set, and the backend's store is reachable then (javac sets the outer instance first).
    private final class Database extends H2Database {
        Database(String databaseName, CursorRegistry cursorRegistry) {
            super(databaseName, getMvStore(), cursorRegistry);
        }

        @Override
        protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
            MVStore mvStore = getMvStore();
            String namespace = getFullCollectionNamespace(collectionName);
            MVMap<Object, Document> dataMap = mvStore.openMap("databases." + namespace);
            MVMap<String, Object> metaMap = mvStore.openMap("meta." + namespace);
            return new Collection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
        }
    }

    private static final class Collection extends H2Collection {
        Collection(MongoDatabase database, String collectionName, CollectionOptions options,
                   MVMap<Object, Document> dataMap, MVMap<String, Object> metaMap,
                   CursorRegistry cursorRegistry) {
            super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                             int batchSize, Document fieldSelector) {
            Iterable<Object> candidates = UniqueKeyPlanner.candidates(getIndexes(), query);
            if (candidates == null) {
                return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
            }
            return matchDocuments(query, candidates, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }
    }
}
