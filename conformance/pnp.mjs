// Conformance of the emulator with an independent client: PnPjs 4 (@pnp/sp) on Node.
//   node conformance/pnp.mjs <site url> <bearer token with the manage role>
// Each check prints « ok » or « ÉCHEC » with the reason; the exit code is the number of failures.
import { spfi, DefaultHeaders, DefaultInit } from "@pnp/sp";
import { BrowserFetchWithRetry, DefaultParse, BearerToken } from "@pnp/queryable";
import "@pnp/sp/webs/index.js";
import "@pnp/sp/lists/index.js";
import "@pnp/sp/items/index.js";
import "@pnp/sp/fields/index.js";
import "@pnp/sp/files/index.js";
import "@pnp/sp/folders/index.js";
import "@pnp/sp/batching.js";
import "@pnp/sp/regional-settings/index.js";
import "@pnp/sp/site-users/web.js";
import "@pnp/sp/recycle-bin/index.js";
import "@pnp/sp/views/index.js";

const [url, token] = process.argv.slice(2);
const sp = spfi(url).using(DefaultHeaders(), DefaultInit(), BrowserFetchWithRetry({ retries: 1 }), DefaultParse(),
  BearerToken(token));
const site = new URL(url).pathname;
let failures = 0;

function assert(cond, what) {
  if (!cond) throw new Error(what);
}

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok      ${name}`);
  } catch (e) {
    failures += 1;
    console.log(`ÉCHEC   ${name} : ${e?.message ?? e}`);
  }
}

const TITLE = "Conformité PnP liste de test";
const LIB = "Conformité PnP documents";
const list = () => sp.web.lists.getByTitle(TITLE);

await check("web: select", async () => {
  const w = await sp.web.select("Title", "ServerRelativeUrl")();
  assert(w.ServerRelativeUrl === site, `ServerRelativeUrl ${w.ServerRelativeUrl}`);
  assert(w.Id === undefined, "$select ignored");
});

await check("lists: add with a description, update, expand RootFolder", async () => {
  await sp.web.lists.add(TITLE, "créée par PnPjs", 100);
  await list().update({ Description: "mise à jour par PnPjs" });
  const l = await list().select("Title", "Description", "RootFolder/ServerRelativeUrl").expand("RootFolder")();
  assert(l.Description === "mise à jour par PnPjs", `Description ${l.Description}`);
  assert(l.RootFolder?.ServerRelativeUrl?.endsWith("/Lists/Conformité PnP liste de test"),
    `RootFolder ${JSON.stringify(l.RootFolder)}`);
});

await check("lists: ensure finds the list, or creates it; views: add an SP.View", async () => {
  const first = await sp.web.lists.ensure("Conformité PnP ensure", "", 100);
  const again = await sp.web.lists.ensure("Conformité PnP ensure", "", 100);
  assert(first.created === true && again.created === false, `created ${first.created} then ${again.created}`);
  const v = await sp.web.lists.getByTitle("Conformité PnP ensure").views.add("Vue PnP", false, { RowLimit: 10 });
  assert(v.Title === "Vue PnP" || v.data?.Title === "Vue PnP", `view ${JSON.stringify(v.data ?? v)}`);
});

await check("lists: $select of an unknown property is refused", async () => {
  let status = 0;
  try { await list().select("Title", "Nope")(); } catch (e) { status = e.status ?? e.response?.status ?? -1; }
  assert(status === 400, `status ${status}`);
});

await check("items: add, select, filter, orderBy, top", async () => {
  for (let i = 1; i <= 7; i++) await list().items.add({ Title: `élément ${i}` });
  const got = await list().items.select("Id", "Title").filter("Id gt 2 and Title ne 'élément 5'").orderBy("Id", false).top(3)();
  assert(JSON.stringify(got.map(x => x.Id)) === "[7,6,4]", `ids ${got.map(x => x.Id)}`);
});

await check("items: expand a user field", async () => {
  const [it] = await list().items.select("Id", "Author/Title").expand("Author").top(1)();
  assert(typeof it.Author?.Title === "string", `Author ${JSON.stringify(it.Author)}`);
});

await check("items: paging (async iteration over pages)", async () => {
  const pages = [];
  for await (const page of list().items.select("Id").top(3)) pages.push(page.map(x => x.Id));
  assert(JSON.stringify(pages) === "[[1,2,3],[4,5,6],[7]]", `pages ${JSON.stringify(pages)}`);
});

await check("fields: filter with spaces encoded as +", async () => {
  const visible = await list().fields.filter("Hidden eq false").select("InternalName")();
  assert(visible.some(f => f.InternalName === "Title"), "Title not visible");
});

await check("batch: two adds and a read", async () => {
  const [batched, execute] = sp.batched();
  const l = batched.web.lists.getByTitle(TITLE);
  const results = [];
  l.items.add({ Title: "par lot 1" }).then(r => results.push(r));
  l.items.add({ Title: "par lot 2" }).then(r => results.push(r));
  let count = -1;
  l.select("ItemCount")().then(r => { count = r.ItemCount; });
  await execute();
  assert(results.length === 2, `adds ${results.length}`);
  assert(count >= 7, `ItemCount ${count}`);
});

await check("validateUpdateListItem returns the array", async () => {
  const res = await list().items.getById(1).validateUpdateListItem([{ FieldName: "Title", FieldValue: "validé" }]);
  assert(Array.isArray(res) && res[0].FieldName === "Title" && !res[0].HasException, JSON.stringify(res));
  const it = await list().items.getById(1).select("Title")();
  assert(it.Title === "validé", `Title ${it.Title}`);
});

await check("addValidateUpdateItemUsingPath creates the item", async () => {
  const res = await list().addValidateUpdateItemUsingPath([{ FieldName: "Title", FieldValue: "créé par formulaire" }]);
  const id = res.find(r => r.FieldName === "Id")?.FieldValue;
  assert(id, JSON.stringify(res));
  const it = await list().items.getById(Number(id)).select("Title")();
  assert(it.Title === "créé par formulaire", `Title ${it.Title}`);
});

await check("item versions", async () => {
  const v = await list().items.getById(1).versions();
  assert(Array.isArray(v) && v.length >= 1, `versions ${JSON.stringify(v).slice(0, 200)}`);
});

await check("folders: addUsingPath and addSubFolderUsingPath", async () => {
  await sp.web.lists.add(LIB, "", 101);
  const root = `${site}/${LIB}`;
  await sp.web.folders.addUsingPath(`${root}/Rapports 2026`);
  await sp.web.getFolderByServerRelativePath(`${root}/Rapports 2026`).addSubFolderUsingPath("Synthèse");
  const sub = await sp.web.getFolderByServerRelativePath(`${root}/Rapports 2026`).folders.select("Name")();
  assert(sub.some(f => f.Name === "Synthèse"), JSON.stringify(sub));
});

await check("files: addUsingPath, getText, getBuffer, listItemAllFields", async () => {
  const folder = sp.web.getFolderByServerRelativePath(`${site}/${LIB}/Rapports 2026`);
  await folder.files.addUsingPath("note d'étape.txt", "Bonjour l'équipe", { Overwrite: true });
  const file = sp.web.getFileByServerRelativePath(`${site}/${LIB}/Rapports 2026/note d'étape.txt`);
  assert(await file.getText() === "Bonjour l'équipe", "getText");
  const buf = await file.getBuffer();
  assert(buf.byteLength === Buffer.byteLength("Bonjour l'équipe"), `getBuffer ${buf.byteLength}`);
  const item = await file.listItemAllFields();
  assert(item.Id > 0 || item.ID > 0, JSON.stringify(item).slice(0, 200));
});

await check("files: addChunked", async () => {
  const folder = sp.web.getFolderByServerRelativePath(`${site}/${LIB}/Rapports 2026`);
  const data = new Uint8Array(11 * 1024 * 1024).map((_, i) => i % 251);
  await folder.files.addChunked("gros fichier.bin", new Blob([data]), { Overwrite: true });
  const file = sp.web.getFileByServerRelativePath(`${site}/${LIB}/Rapports 2026/gros fichier.bin`);
  const back = new Uint8Array(await file.getBuffer());
  assert(back.length === data.length && back[12345] === data[12345], `length ${back.length}`);
});

await check("fieldValuesAsText and renderListDataAsStream", async () => {
  const text = await list().items.getById(1).fieldValuesAsText();
  assert(text.Title === "validé", JSON.stringify(text).slice(0, 200));
  const xml = "<View><Query><OrderBy><FieldRef Name='ID'/></OrderBy></Query><ViewFields><FieldRef Name='Title'/>" +
    "</ViewFields><RowLimit>2</RowLimit></View>";
  const data = await list().renderListDataAsStream({ ViewXml: xml, RenderOptions: 2 });
  assert(data.Row.length === 2 && data.Row[0].Title === "validé" && data.NextHref, JSON.stringify(data).slice(0, 300));
});

await check("time zone: utcToLocalTime and localTimeToUTC", async () => {
  const local = await sp.web.regionalSettings.timeZone.utcToLocalTime("2026-07-01T10:00:00Z");
  assert(String(local).startsWith("2026-07-01T12:00:00"), `local ${local}`);
  const utc = await sp.web.regionalSettings.timeZone.localTimeToUTC("2026-01-15T09:00:00");
  assert(String(utc).startsWith("2026-01-15T08:00:00"), `utc ${utc}`);
});

await check("lists: a tasks list (template 107) with its standard fields", async () => {
  await sp.web.lists.add("Conformité PnP tâches", "", 107);
  const f = await sp.web.lists.getByTitle("Conformité PnP tâches").fields.getByInternalNameOrTitle("DueDate")();
  assert(f.TypeAsString === "DateTime", JSON.stringify(f).slice(0, 200));
  await sp.web.lists.getByTitle("Conformité PnP tâches").delete();
});

await check("regional settings and time zone", async () => {
  const rs = await sp.web.regionalSettings();
  assert(typeof rs.LocaleId === "number", JSON.stringify(rs).slice(0, 200));
  const tz = await sp.web.regionalSettings.timeZone();
  assert(typeof tz.Description === "string", JSON.stringify(tz).slice(0, 200));
});

await check("users: current, site users, ensureUser", async () => {
  const me = await sp.web.currentUser();
  assert(me.Id > 0, JSON.stringify(me).slice(0, 200));
  const users = await sp.web.siteUsers();
  assert(users.length >= 1, "no site user");
  const ensured = await sp.web.ensureUser("i:0#.f|membership|pnp.conformite@example.org");
  const id = ensured.Id ?? ensured.data?.Id;
  assert(id > 0, JSON.stringify(ensured).slice(0, 200));
});

await check("recycle an item, list the bin, restore", async () => {
  await list().items.getById(2).recycle();
  const bin = await sp.web.recycleBin();
  const entry = bin.find(e => e.Title === "élément 2");
  assert(entry, JSON.stringify(bin).slice(0, 300));
  await sp.web.recycleBin.getById(entry.Id).restore();
  const it = await list().items.getById(2).select("Title")();
  assert(it.Title === "élément 2", `Title ${it.Title}`);
});

await check("clean up: delete the test list and library", async () => {
  await list().delete();
  await sp.web.lists.getByTitle(LIB).delete();
  await sp.web.lists.getByTitle("Conformité PnP ensure").delete();
});

console.log(failures ? `${failures} vérification(s) en échec` : "toutes les vérifications passent");
process.exit(failures);
