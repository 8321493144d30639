import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { endpoints } from '../../support/endpoints';

// Set-up and clean-up from the test process, with the workspace's plain (uninstrumented) clients;
// the apps under test never see these.

const kafka = () =>
  new Kafka({ clientId: 'compat-admin', brokers: [endpoints.kafkaBroker], logLevel: logLevel.NOTHING });

/** Creates the topic and waits for its leader, so the consumer never races topic auto-creation. */
export async function createTopic(topic: string): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopic(topic: string): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
}

export async function deleteQueue(queue: string): Promise<void> {
  const connection = await amqp.connect(endpoints.amqpUrl);
  try {
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
  } finally {
    await connection.close().catch(() => {});
  }
}
