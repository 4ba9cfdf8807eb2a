// Runs once, when the database directory is empty (the image's /docker-entrypoint-initdb.d), as
// the root user: one user per service, readWrite on its own database and nothing else. The
// credentials come from the services' own store URL secrets, so they cannot drift apart. Nothing
// here prints a password. Rotating one later: db.updateUser() on the service's database, then
// replace its <service>_store_url file.
const fs = require('fs');
const secretsDir = process.env.SECURACT_SECRETS_DIR || '/run/secrets';
const services = ['identity', 'consent', 'delivery', 'notify', 'audit', 'retention'];
const storeUrl = /^mongodb:\/\/([^:@/]+):([^@/]+)@[^/]+\/([^?]+)/;

for (const service of services) {
  const url = fs.readFileSync(`${secretsDir}/${service}_store_url`, 'utf8').trim();
  const match = storeUrl.exec(url);
  if (!match) {
    throw new Error(`${service}_store_url is not mongodb://<user>:<password>@<host>/<database>`);
  }
  const [user, pwd, database] = match.slice(1, 4).map(decodeURIComponent);
  if (database !== `securact_${service}`) {
    throw new Error(`${service}_store_url names ${database}, expected securact_${service}`);
  }
  db.getSiblingDB(database).createUser({
    user,
    pwd,
    roles: [{ role: 'readWrite', db: database }],
  });
}
