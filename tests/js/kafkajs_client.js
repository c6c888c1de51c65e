'use strict'
// kafkajs scenarios that tests/integration/test_kafkajs.py runs against a broker:
//   node kafkajs_client.js SCENARIO '{"bootstrap": "127.0.0.1:9092", ...}'
// Each prints one JSON object on stdout (what the client saw) and exits 0, or prints
// {"error": ...} and exits 1. kafkajs' own log lines go to stderr.

const { Kafka, CompressionTypes, ConfigResourceTypes, logLevel } = require('kafkajs')

const DEADLINE_MS = 60000

function toStderr() {
  return ({ namespace, level, label, log }) => {
    const { message, ...extra } = log
    process.stderr.write(`${label} [${namespace}] ${message} ${JSON.stringify(extra)}\n`)
  }
}

function client(bootstrap) {
  return new Kafka({
    clientId: 'kpy-kafkajs-test',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    logCreator: toStderr,
    retry: { retries: 5 },
  })
}

// Polls `check` until it returns a truthy value; gives up after `ms`.
async function waitFor(what, check, ms = 20000) {
  const end = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

// Topics as created with kafkajs' documented defaults: no replicationFactor (and for `b`
// no numPartitions either), so CreateTopics carries -1 for the broker to fill in.
async function admin({ bootstrap, topics: [a, b] }) {
  const adm = client(bootstrap).admin()
  await adm.connect()
  try {
    const created = await adm.createTopics({ topics: [{ topic: a, numPartitions: 3 }, { topic: b }] })
    const createdAgain = await adm.createTopics({ topics: [{ topic: a, numPartitions: 3 }] })
    const metadata = await adm.fetchTopicMetadata({ topics: [a, b] })
    const described = metadata.topics
      .map(t => ({
        name: t.name,
        partitions: t.partitions.map(p => p.partitionId).sort((x, y) => x - y),
        replicas: t.partitions.map(p => p.replicas.length),
      }))
      .sort((x, y) => x.name.localeCompare(y.name))
    const configs = await adm.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: a, configNames: ['cleanup.policy'] }],
      includeSynonyms: false,
    })
    const cleanupPolicy = configs.resources[0].configEntries.map(e => e.configValue)
    const listedBefore = (await adm.listTopics()).filter(t => t === a || t === b).sort()
    await adm.deleteTopics({ topics: [a] })
    const listedAfter = await waitFor('the deleted topic to leave the list', async () => {
      const names = await adm.listTopics()
      return names.includes(a) ? null : names.filter(t => t === a || t === b).sort()
    })
    return { created, createdAgain, described, cleanupPolicy, listedBefore, listedAfter }
  } finally {
    await adm.disconnect()
  }
}

function committed(offsets) {
  return offsets[0].partitions
    .map(p => ({ partition: p.partition, offset: Number(p.offset) }))
    .sort((x, y) => x.partition - y.partition)
}

// Consumes with group `groupId` until `count` messages have arrived and the group's
// committed offsets reach `ends` (kafkajs commits after each batch), then leaves the group.
async function consumeInGroup(kafka, adm, { topic, groupId, count, ends }) {
  // A short fetch wait: disconnect() waits for the fetch in flight.
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 })
  const got = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.push({
          partition,
          offset: Number(message.offset),
          key: message.key.toString(),
          value: message.value.toString(),
        })
      },
    })
    await waitFor(`${count} messages`, () => got.length >= count)
    await waitFor('committed offsets at the end of each partition', async () => {
      const now = committed(await adm.fetchOffsets({ groupId, topics: [topic] }))
      return now.every(p => p.offset === ends[p.partition])
    })
  } finally {
    await consumer.disconnect()
  }
  return got.sort((x, y) => x.partition - y.partition || x.offset - y.offset)
}

async function roundTrip({ bootstrap, topic, groupId }) {
  const kafka = client(bootstrap)
  const adm = kafka.admin()
  const producer = kafka.producer()
  await adm.connect()
  await producer.connect()
  try {
    const created = await adm.createTopics({ topics: [{ topic, numPartitions: 3 }] })
    const sent = []
    for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
      const messages = []
      for (let i = 0; i < 20; i++) {
        const n = sent.length + messages.length
        messages.push({ key: `k${n % 5}`, value: `v${n}` })
      }
      const acks = await producer.send({ topic, messages, compression })
      sent.push(...messages)
      for (const a of acks) {
        if (a.errorCode !== 0) throw new Error(`produce error ${a.errorCode}`)
      }
    }
    const watermarks = (await adm.fetchTopicOffsets(topic))
      .map(p => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) }))
      .sort((x, y) => x.partition - y.partition)
    const ends = watermarks.map(p => p.high)

    const first = await consumeInGroup(kafka, adm, { topic, groupId, count: sent.length, ends })
    const afterConsume = committed(await adm.fetchOffsets({ groupId, topics: [topic] }))
    const group = (await adm.describeGroups([groupId])).groups[0]

    // Move the group back one record on every partition, then consume what that re-reads.
    const target = ends.map(end => Math.max(end - 1, 0))
    await adm.setOffsets({
      groupId,
      topic,
      partitions: target.map((offset, partition) => ({ partition, offset: String(offset) })),
    })
    const afterSet = committed(await adm.fetchOffsets({ groupId, topics: [topic] }))
    const again = await consumeInGroup(kafka, adm, {
      topic,
      groupId,
      count: ends.reduce((sum, end, p) => sum + end - target[p], 0),
      ends,
    })

    await adm.resetOffsets({ groupId, topic, earliest: true })
    const afterReset = committed(await adm.fetchOffsets({ groupId, topics: [topic] }))
    return {
      created,
      sent,
      watermarks,
      consumed: first,
      afterConsume,
      group: { state: group.state, protocolType: group.protocolType, members: group.members.length },
      afterSet,
      consumedAgain: again,
      afterReset,
    }
  } finally {
    await producer.disconnect()
    await adm.disconnect()
  }
}

const SCENARIOS = { admin, 'round-trip': roundTrip }

async function main() {
  const [name, args] = process.argv.slice(2)
  const scenario = SCENARIOS[name]
  if (!scenario) throw new Error(`unknown scenario ${name}`)
  let timer
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} took over ${DEADLINE_MS} ms`)), DEADLINE_MS)
  })
  try {
    return await Promise.race([scenario(JSON.parse(args)), deadline])
  } finally {
    clearTimeout(timer)
  }
}

main().then(
  result => {
    process.stdout.write(JSON.stringify(result) + '\n')
    process.exit(0)
  },
  error => {
    process.stdout.write(JSON.stringify({ error: String(error && error.stack) }) + '\n')
    process.exit(1)
  }
)
