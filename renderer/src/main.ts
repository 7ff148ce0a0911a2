// Renderer entry: one Pinia, one App; the bridge is picked on first use by the stores.
import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
import './styles.css';

createApp(App).use(createPinia()).mount('#app');
